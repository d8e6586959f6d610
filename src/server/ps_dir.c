/*-------------------------------------------------------------------------
 *
 * ps_dir.c
 *	  The metapage, the leaf directory and leaf splits of a ps table; the
 *	  backend-local copy of the directory.
 *
 * Storage is created lazily: a new ps table is an empty file, and the first
 * write creates the metapage, one leaf covering every key and the first
 * directory page (one XLOG_PS_INIT record).
 *
 * The directory is an append-only list of (lower bound, leaf) entries in a
 * chain of directory pages; the metapage counts them.  A backend copies it
 * into sorted arrays once and afterwards reads only the entries appended
 * since (its count against the metapage's), so routing a request costs one
 * metapage read and a merge of the request's sorted keys against the
 * arrays, never a descent from a root per key.
 *
 * Locking: the metapage lock serialises splits and guards the directory
 * pages; readers of the directory hold it shared while they read them.  A
 * split holds the leaf being split, then takes the new leaf, the metapage
 * and the directory page, in that order; nobody takes a leaf lock while
 * holding the metapage lock, so this cannot deadlock with writers that lock
 * leaves in key order.
 *
 * Layer 3 (directory): the metapage, the leaf directory, splits; calls
 * the page layout and WAL.  Knows nothing of update rules, configuration
 * or workers.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xloginsert.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "storage/smgr.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "ps_dir.h"
#include "ps_page.h"
#include "ps_xlog.h"

static HTAB *dir_hash = NULL;

/* Directories are keyed by database and table: the scheduler serves all. */
typedef struct PsDirKey
{
	Oid			dbid;
	Oid			relid;
} PsDirKey;

/* serialised right half of a split (header, first key or keys, values) */
static char split_buf[sizeof(xl_ps_keys) + sizeof(int64) + PS_PAGE_PAYLOAD];

/* an invalidation came: look for copies of tables that no longer exist */
static bool sweep_pending = false;

static void
dir_inval_callback(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	PsDir	   *dir;

	/* Only mark entries; they may be in use right now. */
	hash_seq_init(&status, dir_hash);
	while ((dir = hash_seq_search(&status)) != NULL)
		if (!OidIsValid(relid) || dir->relid == relid)
		{
			dir->valid = false;
			sweep_pending = true;
		}
}

static void dir_free(PsDir *dir);

/*
 * Free the copies of tables that other sessions dropped (this backend's
 * own DROP frees its copy at once, ps_dir_forget).  No caller can be
 * using one: a caller holds a lock on the table of any copy it uses, and
 * the table could not have been dropped under it.
 */
static void
dir_sweep(Oid current)
{
	HASH_SEQ_STATUS status;
	PsDir	   *dir;

	if (!OidIsValid(MyDatabaseId))
	{
		sweep_pending = false;
		return;					/* the scheduler: ps_dir_prune does it */
	}
	hash_seq_init(&status, dir_hash);
	while ((dir = hash_seq_search(&status)) != NULL)
		if (!dir->valid && dir->dbid == MyDatabaseId && dir->relid != current &&
			!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(dir->relid)))
			dir_free(dir);
	sweep_pending = false;		/* only now: a catalog error leaves it to retry */
}

static PsDir *
dir_entry(Oid dbid, Oid relid)
{
	PsDir	   *dir;
	PsDirKey	key;
	bool		found;

	if (dir_hash == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(PsDirKey);
		ctl.entrysize = sizeof(PsDir);
		ctl.hcxt = CacheMemoryContext;
		dir_hash = hash_create("ps directories", 64, &ctl,
							   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		CacheRegisterRelcacheCallback(dir_inval_callback, (Datum) 0);
	}
	key.dbid = dbid;
	key.relid = relid;
	dir = hash_search(dir_hash, &key, HASH_ENTER, &found);
	if (!found)
	{
		dir->valid = false;
		dir->cap = 0;
		dir->lo = NULL;
		dir->blk = NULL;
		dir->recent = NULL;
	}
	dir->last_used = GetCurrentTransactionStartTimestamp();
	return dir;
}

static void
dir_reset(PsDir *dir, Relation rel)
{
	dir->node = rel->rd_node;
	dir->valid = true;
	dir->dim = 0;
	dir->width = 0;
	dir->declared_dim = -1;
	dir->n = 0;
	dir->dirblk = PS_FIRST_DIR_BLKNO;
	dir->dirpos = 0;
}

static void
dir_free(PsDir *dir)
{
	PsDirKey	key;

	key.dbid = dir->dbid;
	key.relid = dir->relid;
	if (dir->lo)
		pfree(dir->lo);
	if (dir->blk)
		pfree(dir->blk);
	if (dir->recent)
		pfree(dir->recent);
	hash_search(dir_hash, &key, HASH_REMOVE, NULL);
}

/* Forget the copy of a dropped table. */
void
ps_dir_forget(Oid relid)
{
	PsDir	   *dir;
	PsDirKey	key;

	if (dir_hash == NULL)
		return;
	key.dbid = MyDatabaseId;
	key.relid = relid;
	dir = hash_search(dir_hash, &key, HASH_FIND, NULL);
	if (dir)
		dir_free(dir);
}

/*
 * Forget the copies not used for idle_ms, and those whose storage is gone
 * (the table was dropped or rewritten, and a checkpoint removed the file).
 * For the scheduler, which serves every database and hears of no DROP:
 * without this it would keep the copy of every table it ever wrote.
 * Callers hold no copy across it.
 */
void
ps_dir_prune(TimestampTz now, int idle_ms)
{
	HASH_SEQ_STATUS status;
	PsDir	   *dir;

	if (dir_hash == NULL)
		return;
	hash_seq_init(&status, dir_hash);
	while ((dir = hash_seq_search(&status)) != NULL)
	{
		bool		gone = TimestampDifferenceExceeds(dir->last_used, now, idle_ms);

		if (!gone && dir->valid)
		{
			SMgrRelation srel = smgropen(dir->node, InvalidBackendId);

			gone = !smgrexists(srel, MAIN_FORKNUM);
			smgrclose(srel);
		}
		if (gone)
			dir_free(dir);		/* removing the current entry is allowed */
	}
}

/* How many directory copies this process holds. */
long
ps_dir_count(void)
{
	return dir_hash ? hash_get_num_entries(dir_hash) : 0;
}

/* The storage of a table was emptied in place (TRUNCATE in its creating
 * transaction): drop our copy. */
void
ps_dir_reset_storage(Relation rel)
{
	PsDir	   *dir = dir_entry(rel->rd_node.dbNode, RelationGetRelid(rel));

	dir->valid = false;
}

static PsMetaData *
check_meta(Relation rel, Page page)
{
	PsPageOpaque op = PsPageGetOpaque(page);
	PsMetaData *meta = PsPageGetMeta(page);

	if (op->page_id != PS_PAGE_ID || op->kind != PS_PAGE_META ||
		meta->magic != PS_MAGIC)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("\"%s\" has no valid ps metapage",
						RelationGetRelationName(rel)),
				 errhint("The table's storage is damaged; restore it from a backup.")));
	if (meta->version != PS_LAYOUT_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("ps table \"%s\" has storage layout version %u, this library reads version %u",
						RelationGetRelationName(rel), meta->version,
						PS_LAYOUT_VERSION),
				 errhint("Dump the table with the library that wrote it and restore it here.")));
	return meta;
}

/*
 * Does the table have storage: a metapage, its first leaf and directory
 * page?  A table whose creation of them was cut short by a crash or an
 * error (the file extended, the pages never written) has none, and its
 * next write creates them again in place.
 */
bool
ps_has_storage(Relation rel)
{
	Buffer		buf;
	bool		result;

	if (RelationGetNumberOfBlocks(rel) <= PS_FIRST_DIR_BLKNO)
		return false;
	buf = ReadBuffer(rel, PS_META_BLKNO);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	result = !PageIsNew(BufferGetPage(buf));
	UnlockReleaseBuffer(buf);
	return result;
}

/*
 * Create the storage of an empty table: metapage, one leaf, one directory
 * page.  Another backend may get there first; a heavyweight lock on the
 * metapage's block number decides.  It is not the extension lock: a leaf
 * split takes that while it holds the metapage's content lock, so waiting
 * for the metapage under the extension lock could deadlock with it.
 * Pages are locked as they are allocated (RBM_ZERO_AND_LOCK), so readers
 * never see them before they are initialised; blocks left over from a
 * creation that was cut short are reused.
 */
static void
init_storage(Relation rel, int dim, int width)
{
	Buffer		bufs[3];
	BlockNumber nblocks;
	int			i;

	LockPage(rel, PS_META_BLKNO, ExclusiveLock);
	if (ps_has_storage(rel))
	{
		UnlockPage(rel, PS_META_BLKNO, ExclusiveLock);
		return;
	}
	LockRelationForExtension(rel, ExclusiveLock);
	nblocks = RelationGetNumberOfBlocks(rel);
	for (i = 0; i < 3; i++)
	{
		bufs[i] = ReadBufferExtended(rel, MAIN_FORKNUM,
									 (BlockNumber) i < nblocks ? (BlockNumber) i : P_NEW,
									 RBM_ZERO_AND_LOCK, NULL);
		if (BufferGetBlockNumber(bufs[i]) != (BlockNumber) i)
			elog(ERROR, "ps: unexpected block %u while creating \"%s\"",
				 BufferGetBlockNumber(bufs[i]), RelationGetRelationName(rel));
	}

	START_CRIT_SECTION();
	ps_page_init_table(BufferGetPage(bufs[0]), BufferGetPage(bufs[1]),
					   BufferGetPage(bufs[2]), dim, width);
	for (i = 0; i < 3; i++)
		MarkBufferDirty(bufs[i]);
	if (RelationNeedsWAL(rel))
	{
		xl_ps_init	xlrec;
		XLogRecPtr	recptr;

		xlrec.dim = dim;
		xlrec.width = width;
		ps_xlog_begin();
		XLogRegisterData((char *) &xlrec, sizeof(xlrec));
		for (i = 0; i < 3; i++)
			XLogRegisterBuffer(i, bufs[i], REGBUF_WILL_INIT);
		recptr = XLogInsert(RM_PS_ID, XLOG_PS_INIT);
		for (i = 0; i < 3; i++)
			PageSetLSN(BufferGetPage(bufs[i]), recptr);
	}
	END_CRIT_SECTION();

	for (i = 0; i < 3; i++)
		UnlockReleaseBuffer(bufs[i]);
	UnlockRelationForExtension(rel, ExclusiveLock);
	UnlockPage(rel, PS_META_BLKNO, ExclusiveLock);
}

static int
cmp_dir_entry(const void *a, const void *b)
{
	int64		la = ((const PsDirEntry *) a)->lo;
	int64		lb = ((const PsDirEntry *) b)->lo;

	return (la > lb) - (la < lb);
}

/*
 * Read directory entries appended since our last read, up to target, and
 * merge them into the sorted arrays.  Caller holds the metapage lock.
 */
static void
dir_load(Relation rel, PsDir *dir, uint32 target)
{
	uint32		start = dir->n;
	uint32		m = target - start;
	PsDirEntry *fresh;
	uint32		got = 0;
	BlockNumber blk = dir->dirblk;
	uint32		pos = dir->dirpos;
	int64		i,
				j,
				k;

	if (target > dir->cap)
	{
		uint32		newcap = Max(target + target / 2, 64);

		if (dir->lo == NULL)
		{
			dir->lo = MemoryContextAlloc(CacheMemoryContext, sizeof(int64) * newcap);
			dir->blk = MemoryContextAlloc(CacheMemoryContext, sizeof(BlockNumber) * newcap);
			dir->recent = MemoryContextAlloc(CacheMemoryContext, sizeof(Buffer) * newcap);
		}
		else
		{
			dir->lo = repalloc(dir->lo, sizeof(int64) * newcap);
			dir->blk = repalloc(dir->blk, sizeof(BlockNumber) * newcap);
			dir->recent = repalloc(dir->recent, sizeof(Buffer) * newcap);
		}
		dir->cap = newcap;
	}

	fresh = palloc(sizeof(PsDirEntry) * m);
	while (got < m)
	{
		Buffer		buf = ReadBuffer(rel, blk);
		Page		page;
		PsPageOpaque op;
		uint32		take;

		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		op = PsPageGetOpaque(page);
		if (op->page_id != PS_PAGE_ID || op->kind != PS_PAGE_DIR ||
			op->nitems < pos)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("ps table \"%s\": block %u is not the expected directory page",
							RelationGetRelationName(rel), blk)));
		take = Min(op->nitems - pos, m - got);
		memcpy(fresh + got, PsDirEntries(page) + pos, sizeof(PsDirEntry) * take);
		got += take;
		pos += take;
		if (got < m)
		{
			blk = op->next;
			pos = 0;
			if (blk == InvalidBlockNumber)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("ps table \"%s\": directory ends before its %u entries",
								RelationGetRelationName(rel), target)));
		}
		UnlockReleaseBuffer(buf);
	}
	dir->dirblk = blk;
	dir->dirpos = pos;

	/* sort the new entries, then merge backwards into the arrays */
	qsort(fresh, m, sizeof(PsDirEntry), cmp_dir_entry);
	i = (int64) start - 1;
	j = (int64) m - 1;
	for (k = (int64) target - 1; k >= 0 && j >= 0; k--)
	{
		if (i >= 0 && dir->lo[i] > fresh[j].lo)
		{
			dir->lo[k] = dir->lo[i];
			dir->blk[k] = dir->blk[i];
			dir->recent[k] = dir->recent[i];
			i--;
		}
		else
		{
			dir->lo[k] = fresh[j].lo;
			dir->blk[k] = fresh[j].blkno;
			dir->recent[k] = InvalidBuffer;
			j--;
		}
	}
	dir->n = target;
	pfree(fresh);
}

/*
 * The directory of a table, brought up to date.  With create, storage is
 * created first if the table has none yet, with the given dim and width;
 * without it, a table without storage yields a directory with no entries.
 * dir->dim and dir->width are the table's (0 when it has no storage).
 */
PsDir *
ps_dir_get(Relation rel, bool create, int dim, int width)
{
	PsDir	   *dir;
	Buffer		metabuf;
	PsMetaData *meta;

	if (sweep_pending)
		dir_sweep(RelationGetRelid(rel));
	dir = dir_entry(rel->rd_node.dbNode, RelationGetRelid(rel));

	if (!dir->valid || !RelFileNodeEquals(dir->node, rel->rd_node))
		dir_reset(dir, rel);

	if (dir->n == 0 && !ps_has_storage(rel))
	{
		if (!create)
			return dir;
		Assert(dim > 0 && width >= dim);
		init_storage(rel, dim, width);
	}

	metabuf = ReadBuffer(rel, PS_META_BLKNO);
	LockBuffer(metabuf, BUFFER_LOCK_SHARE);
	meta = check_meta(rel, BufferGetPage(metabuf));
	if (meta->ndir < dir->n)
		dir_reset(dir, rel);	/* storage was re-created in place */
	if (meta->ndir > dir->n)
		dir_load(rel, dir, meta->ndir);
	dir->dim = meta->dim;
	dir->width = meta->width;
	UnlockReleaseBuffer(metabuf);
	return dir;
}

/*
 * Read the whole directory from its pages, ignoring this backend's copy:
 * for ps_check.  Returns the entries sorted by lower bound, and the number
 * of directory pages the metapage counts.
 */
void
ps_dir_read_disk(Relation rel, uint32 *n, int64 **lo, BlockNumber **blk,
				 uint32 *ndirpages)
{
	PsDir		tmp;
	Buffer		metabuf;
	PsMetaData *meta;

	metabuf = ReadBuffer(rel, PS_META_BLKNO);
	LockBuffer(metabuf, BUFFER_LOCK_SHARE);
	meta = check_meta(rel, BufferGetPage(metabuf));
	memset(&tmp, 0, sizeof(tmp));
	tmp.dirblk = PS_FIRST_DIR_BLKNO;
	tmp.cap = Max(meta->ndir, 1);
	tmp.lo = palloc(sizeof(int64) * tmp.cap);
	tmp.blk = palloc(sizeof(BlockNumber) * tmp.cap);
	tmp.recent = palloc(sizeof(Buffer) * tmp.cap);
	dir_load(rel, &tmp, meta->ndir);
	*ndirpages = meta->ndirpages;
	UnlockReleaseBuffer(metabuf);
	pfree(tmp.recent);
	*n = tmp.n;
	*lo = tmp.lo;
	*blk = tmp.blk;
}

/*
 * Index of the leaf for key: the last entry whose lower bound is <= key.
 * Searching starts at from, whose lower bound must be <= key; callers walk
 * ascending keys and pass the previous answer, which makes routing a whole
 * request one galloping merge.
 */
int
ps_dir_find(const PsDir *dir, int64 key, int from)
{
	int			lo = from;
	int			hi;
	int			step = 1;
	int			n = (int) dir->n;

	/* gallop to a bracket [lo, hi) with lo[lo] <= key < lo[hi] */
	hi = lo + 1;
	while (hi < n && dir->lo[hi] <= key)
	{
		lo = hi;
		hi = lo + step;
		step <<= 1;
	}
	if (hi > n)
		hi = n;
	while (hi - lo > 1)
	{
		int			mid = lo + (hi - lo) / 2;

		if (dir->lo[mid] <= key)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Serialise a leaf's payload as a key block (see ps_xlog.h).
 */
static int
serialise_leaf(char *dst, Page page)
{
	PsPageOpaque op = PsPageGetOpaque(page);
	xl_ps_keys	hdr;
	bool		dense = PsLeafIsDense(op);
	char	   *p = dst;

	hdr.nkeys = op->nitems;
	hdr.format = dense ? PS_KEYS_RUN : PS_KEYS_LIST;
	hdr.width = op->width;
	memcpy(p, &hdr, sizeof(hdr));
	p += sizeof(hdr);
	if (op->nitems > 0)
	{
		if (dense)
		{
			memcpy(p, &op->base, sizeof(int64));
			p += sizeof(int64);
		}
		else
		{
			memcpy(p, PsLeafKeys(page), sizeof(int64) * op->nitems);
			p += sizeof(int64) * op->nitems;
		}
		memcpy(p, PsLeafVals(page), sizeof(float4) * op->width * op->nitems);
		p += sizeof(float4) * op->width * op->nitems;
	}
	return p - dst;
}

/*
 * Split the exclusively locked leaf in leftbuf at splitkey: keys >= splitkey
 * move to a new leaf to its right, which gets a directory entry.  Returns
 * the new leaf, exclusively locked; leftbuf stays locked.  splitkey must lie
 * in (lo, hi] of the leaf.
 */
Buffer
ps_split_leaf(Relation rel, Buffer leftbuf, int64 splitkey)
{
	Page		lpage = BufferGetPage(leftbuf);
	PsPageOpaque lop = PsPageGetOpaque(lpage);
	Buffer		rightbuf,
				metabuf,
				dirbuf,
				newdirbuf = InvalidBuffer;
	Page		rpage,
				metapage,
				dirpage;
	PsMetaData *meta;
	BlockNumber rightblk;
	PsDirEntry	entry;
	xl_ps_split xlrec;
	xl_ps_dir_append app;
	xl_ps_dir_append link;
	bool		newdir;
	int			from;
	int			rlen;

	Assert(splitkey > lop->lo && splitkey <= lop->hi);

	metabuf = ReadBuffer(rel, PS_META_BLKNO);
	LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
	metapage = BufferGetPage(metabuf);
	meta = check_meta(rel, metapage);

	dirbuf = ReadBuffer(rel, meta->last_dir);
	LockBuffer(dirbuf, BUFFER_LOCK_EXCLUSIVE);
	dirpage = BufferGetPage(dirbuf);
	newdir = PsPageGetOpaque(dirpage)->nitems >= (uint32) PS_DIR_CAPACITY;

	/* new pages: the right leaf, and a directory page if the last is full */
	LockRelationForExtension(rel, ExclusiveLock);
	rightbuf = ReadBufferExtended(rel, MAIN_FORKNUM, P_NEW, RBM_ZERO_AND_LOCK, NULL);
	if (newdir)
		newdirbuf = ReadBufferExtended(rel, MAIN_FORKNUM, P_NEW, RBM_ZERO_AND_LOCK, NULL);
	UnlockRelationForExtension(rel, ExclusiveLock);
	rightblk = BufferGetBlockNumber(rightbuf);
	rpage = BufferGetPage(rightbuf);

	entry.lo = splitkey;
	entry.blkno = rightblk;
	entry.pad = 0;

	START_CRIT_SECTION();

	ps_page_init_leaf(rpage, splitkey, lop->hi, lop->width, lop->clock, lop->next);
	from = ps_leaf_lower_bound(lpage, splitkey);
	ps_leaf_copy_from(rpage, lpage, from);
	ps_leaf_truncate(lpage, splitkey);
	lop->next = rightblk;

	meta->ndir++;
	if (newdir)
	{
		BlockNumber newdirblk = BufferGetBlockNumber(newdirbuf);

		ps_dir_page_append(dirpage, -1, newdirblk, NULL);
		ps_page_init_dir(BufferGetPage(newdirbuf));
		ps_dir_page_append(BufferGetPage(newdirbuf), 0, InvalidBlockNumber, &entry);
		meta->last_dir = newdirblk;
		meta->ndirpages++;
	}
	else
		ps_dir_page_append(dirpage, PsPageGetOpaque(dirpage)->nitems,
						   InvalidBlockNumber, &entry);

	MarkBufferDirty(leftbuf);
	MarkBufferDirty(rightbuf);
	MarkBufferDirty(metabuf);
	MarkBufferDirty(dirbuf);
	if (newdir)
		MarkBufferDirty(newdirbuf);

	if (RelationNeedsWAL(rel))
	{
		XLogRecPtr	recptr;

		memset(&xlrec, 0, sizeof(xlrec));	/* no uninitialised padding in WAL */
		xlrec.splitkey = splitkey;
		xlrec.hi = PsPageGetOpaque(rpage)->hi;
		xlrec.clock = lop->clock;
		xlrec.right = rightblk;
		xlrec.rightnext = PsPageGetOpaque(rpage)->next;
		xlrec.width = lop->width;
		xlrec.newdirpage = newdir;
		rlen = serialise_leaf(split_buf, rpage);

		ps_xlog_begin();
		XLogRegisterData((char *) &xlrec, sizeof(xlrec));
		XLogRegisterBuffer(0, leftbuf, REGBUF_STANDARD);
		XLogRegisterBuffer(1, rightbuf, REGBUF_WILL_INIT);
		XLogRegisterBufData(1, split_buf, rlen);
		XLogRegisterBuffer(2, metabuf, REGBUF_STANDARD);
		XLogRegisterBufData(2, (char *) meta, sizeof(PsMetaData));
		XLogRegisterBuffer(3, dirbuf, REGBUF_STANDARD);
		if (newdir)
		{
			link.pos = -1;
			link.next = BufferGetBlockNumber(newdirbuf);
			memset(&link.entry, 0, sizeof(link.entry));
			XLogRegisterBufData(3, (char *) &link, sizeof(link));
			app.pos = 0;
			app.next = InvalidBlockNumber;
			app.entry = entry;
			XLogRegisterBuffer(4, newdirbuf, REGBUF_WILL_INIT);
			XLogRegisterBufData(4, (char *) &app, sizeof(app));
		}
		else
		{
			app.pos = PsPageGetOpaque(dirpage)->nitems - 1;
			app.next = InvalidBlockNumber;
			app.entry = entry;
			XLogRegisterBufData(3, (char *) &app, sizeof(app));
		}
		recptr = XLogInsert(RM_PS_ID, XLOG_PS_SPLIT);

		PageSetLSN(lpage, recptr);
		PageSetLSN(rpage, recptr);
		PageSetLSN(metapage, recptr);
		PageSetLSN(dirpage, recptr);
		if (newdir)
			PageSetLSN(BufferGetPage(newdirbuf), recptr);
	}

	END_CRIT_SECTION();

	if (newdir)
		UnlockReleaseBuffer(newdirbuf);
	UnlockReleaseBuffer(dirbuf);
	UnlockReleaseBuffer(metabuf);
	return rightbuf;
}

/* The timestamp reservation recorded in the metapage. */
uint64
ps_dir_ts_reserved(Relation rel)
{
	Buffer		metabuf;
	uint64		reserved;

	if (!ps_has_storage(rel))
		return 0;
	metabuf = ReadBuffer(rel, PS_META_BLKNO);
	LockBuffer(metabuf, BUFFER_LOCK_SHARE);
	reserved = check_meta(rel, BufferGetPage(metabuf))->ts_reserved;
	UnlockReleaseBuffer(metabuf);
	return reserved;
}

/*
 * Raise the timestamp reservation to at least upto (never lower it).
 * Returns the reservation; *lsn receives the WAL position to flush before
 * issuing timestamps under it.
 */
uint64
ps_dir_reserve_ts(Relation rel, uint64 upto, XLogRecPtr *lsn)
{
	Buffer		metabuf;
	Page		metapage;
	PsMetaData *meta;
	uint64		reserved;

	metabuf = ReadBuffer(rel, PS_META_BLKNO);
	LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
	metapage = BufferGetPage(metabuf);
	meta = check_meta(rel, metapage);
	if (meta->ts_reserved < upto)
	{
		START_CRIT_SECTION();
		meta->ts_reserved = upto;
		MarkBufferDirty(metabuf);
		if (RelationNeedsWAL(rel))
		{
			XLogRecPtr	recptr;

			ps_xlog_begin();
			XLogRegisterBuffer(0, metabuf, REGBUF_STANDARD);
			XLogRegisterBufData(0, (char *) meta, sizeof(PsMetaData));
			recptr = XLogInsert(RM_PS_ID, XLOG_PS_META);
			PageSetLSN(metapage, recptr);
		}
		END_CRIT_SECTION();
	}
	reserved = meta->ts_reserved;
	*lsn = RelationNeedsWAL(rel) ? PageGetLSN(metapage) : InvalidXLogRecPtr;
	UnlockReleaseBuffer(metabuf);
	return reserved;
}
