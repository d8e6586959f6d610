/*-------------------------------------------------------------------------
 *
 * ps_page.c
 *	  Operations on single ps pages: initialisation, locating keys on a
 *	  leaf, writing values, merging new keys in, and truncating a leaf at a
 *	  split key.
 *
 * Everything here is a pure function of the page bytes and its arguments,
 * so that normal running and WAL redo share it and produce identical pages
 * (see ps_page.h for the layout).  Nothing here may allocate memory, take a
 * lock or raise an error: these routines run inside critical sections.
 * Callers check that a change fits before making it.
 *
 * Layer 1 (pure code): the byte layout of pages; includes and calls no
 * other file of ps but ps_base.h.  Knows nothing of buffers, WAL or tables.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "ps_page.h"

static void leaf_store(Page page, const int64 *keys, int nkeys,
					   const float4 *vals);

/* First position in [lo, hi) of ascending keys whose key is >= key. */
static inline int
search_ge(const int64 *keys, int lo, int hi, int64 key)
{
	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (keys[mid] < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void
ps_page_init_meta(Page page, uint32 dim, uint32 width)
{
	PsPageOpaque op;
	PsMetaData *meta;

	PageInit(page, BLCKSZ, sizeof(PsPageOpaqueData));
	op = PsPageGetOpaque(page);
	op->kind = PS_PAGE_META;
	op->page_id = PS_PAGE_ID;
	op->next = InvalidBlockNumber;

	meta = PsPageGetMeta(page);
	memset(meta, 0, sizeof(PsMetaData));
	meta->magic = PS_MAGIC;
	meta->version = PS_LAYOUT_VERSION;
	meta->dim = dim;
	meta->width = width;
	meta->last_dir = InvalidBlockNumber;
	((PageHeader) page)->pd_lower = (char *) meta + sizeof(PsMetaData) - (char *) page;
}

void
ps_page_init_leaf(Page page, int64 lo, int64 hi, uint16 width, uint64 clock,
				  BlockNumber next)
{
	PsPageOpaque op;

	PageInit(page, BLCKSZ, sizeof(PsPageOpaqueData));
	op = PsPageGetOpaque(page);
	op->lo = lo;
	op->hi = hi;
	op->clock = clock;
	op->base = 0;
	op->next = next;
	op->nitems = 0;
	op->width = width;
	op->flags = 0;
	op->kind = PS_PAGE_LEAF;
	op->page_id = PS_PAGE_ID;
	((PageHeader) page)->pd_lower = PsPagePayload(page) - (char *) page;
}

void
ps_page_init_dir(Page page)
{
	PsPageOpaque op;

	PageInit(page, BLCKSZ, sizeof(PsPageOpaqueData));
	op = PsPageGetOpaque(page);
	op->kind = PS_PAGE_DIR;
	op->page_id = PS_PAGE_ID;
	op->next = InvalidBlockNumber;
	op->nitems = 0;
	((PageHeader) page)->pd_lower = PsPagePayload(page) - (char *) page;
}

/*
 * A new table: the metapage, one empty leaf covering every key, and one
 * directory page pointing at it.
 */
void
ps_page_init_table(Page meta, Page leaf, Page dir, uint32 dim, uint32 width)
{
	PsMetaData *md;
	PsDirEntry	entry;

	ps_page_init_meta(meta, dim, width);
	md = PsPageGetMeta(meta);
	md->ndir = 1;
	md->ndirpages = 1;
	md->last_dir = PS_FIRST_DIR_BLKNO;

	ps_page_init_leaf(leaf, PG_INT64_MIN, PG_INT64_MAX, width, 0,
					  InvalidBlockNumber);

	ps_page_init_dir(dir);
	entry.lo = PG_INT64_MIN;
	entry.blkno = PS_FIRST_LEAF_BLKNO;
	entry.pad = 0;
	ps_dir_page_append(dir, 0, InvalidBlockNumber, &entry);
}

/*
 * Put a directory entry at position pos (-1: none) and set the page's next
 * link.  Entries are only ever appended, so pos is the page's entry count.
 */
void
ps_dir_page_append(Page page, int pos, BlockNumber next, const PsDirEntry *entry)
{
	PsPageOpaque op = PsPageGetOpaque(page);

	op->next = next;
	if (pos >= 0)
	{
		PsDirEntries(page)[pos] = *entry;
		op->nitems = pos + 1;
		((PageHeader) page)->pd_lower =
			(char *) &PsDirEntries(page)[pos + 1] - (char *) page;
	}
}

/*
 * Would a leaf holding nkeys keys fit?  Contiguous key sets use the dense
 * representation.
 */
bool
ps_leaf_fits(int nkeys, bool contiguous, int width)
{
	if (contiguous)
		return nkeys <= PsLeafDenseCapacity(width);
	return nkeys <= PsLeafSparseCapacity(width);
}

/*
 * First slot whose key is >= key (nitems if none).
 */
int
ps_leaf_lower_bound(Page page, int64 key)
{
	PsPageOpaque op = PsPageGetOpaque(page);
	int			n = op->nitems;

	if (PsLeafIsDense(op))
	{
		if (key <= op->base)
			return 0;
		/* key - base cannot overflow here: key > base */
		if ((uint64) key - (uint64) op->base >= (uint64) n)
			return n;
		return (int) (key - op->base);
	}

	return search_ge(PsLeafKeys(page), 0, n, key);
}

/*
 * Find the slots of sorted, distinct keys on a leaf.  slots[i] receives the
 * slot of keys[i] or PS_SLOT_MISSING.  Returns the number of missing keys.
 *
 * Sparse leaves are searched by galloping from the previous match, so the
 * cost is O(m log(n/m)) for m request keys against n page keys: a merge when
 * the request is dense on the page, a binary search per key when it is not.
 */
int
ps_leaf_locate(Page page, const int64 *keys, int nkeys, int *slots)
{
	PsPageOpaque op = PsPageGetOpaque(page);
	int			n = op->nitems;
	int			missing = 0;
	int			i;

	if (PsLeafIsDense(op))
	{
		uint64		base = (uint64) op->base;

		for (i = 0; i < nkeys; i++)
		{
			uint64		off = (uint64) keys[i] - base;

			/* wraps to a huge value for keys below base */
			if (off < (uint64) n)
				slots[i] = (int) off;
			else
			{
				slots[i] = PS_SLOT_MISSING;
				missing++;
			}
		}
		return missing;
	}
	else
	{
		const int64 *pk = PsLeafKeys(page);
		int			pos = 0;

		for (i = 0; i < nkeys; i++)
		{
			int64		key = keys[i];
			int			step = 1;
			int			lo,
						hi;

			/* gallop: find hi with pk[hi] >= key (or hi = n) */
			lo = pos;
			hi = pos;
			while (hi < n && pk[hi] < key)
			{
				lo = hi + 1;
				hi += step;
				step <<= 1;
			}
			if (hi > n)
				hi = n;
			pos = search_ge(pk, lo, hi, key);
			if (pos < n && pk[pos] == key)
				slots[i] = pos;
			else
			{
				slots[i] = PS_SLOT_MISSING;
				missing++;
			}
		}
		return missing;
	}
}

/*
 * Overwrite the records of keys that are on the page, given their slots.
 */
void
ps_leaf_write_slots(Page page, const int *slots, int nkeys, const float4 *vals)
{
	int			width = PsPageGetOpaque(page)->width;
	float4	   *pv = PsLeafVals(page);
	int			i;

	if (width == 1)
	{
		for (i = 0; i < nkeys; i++)
			pv[slots[i]] = vals[i];
	}
	else
	{
		for (i = 0; i < nkeys; i++)
			memcpy(pv + (Size) slots[i] * width, vals + (Size) i * width,
				   sizeof(float4) * width);
	}
}

/*
 * Set the values of sorted, distinct keys on a leaf, adding the keys that
 * are missing.  The caller has checked with ps_leaf_fits that the result
 * fits and that all keys lie in [lo, hi].  scratch must hold
 * PS_LEAF_SCRATCH_SIZE bytes; it is only used when keys are added.
 */
void
ps_leaf_set(Page page, const int64 *keys, int nkeys, const float4 *vals,
			char *scratch)
{
	PsPageOpaque op = PsPageGetOpaque(page);
	int			width = op->width;
	int			n = op->nitems;
	int64	   *mkeys;
	float4	   *mvals;
	const float4 *pv;
	int			i,
				j,
				m;

	if (nkeys == 0)
		return;

	/*
	 * Fast path: every key already on the page.  Dense pages can tell from
	 * the bounds alone; sparse pages need the slots, which we compute into
	 * scratch space.
	 */
	if (PsLeafIsDense(op) && n > 0 && keys[0] >= op->base &&
		(uint64) keys[nkeys - 1] - (uint64) op->base < (uint64) n)
	{
		float4	   *dst = PsLeafVals(page);

		if ((uint64) keys[nkeys - 1] - (uint64) keys[0] == (uint64) (nkeys - 1))
			memcpy(dst + (Size) (keys[0] - op->base) * width, vals,
				   sizeof(float4) * width * nkeys);
		else
			for (i = 0; i < nkeys; i++)
				memcpy(dst + (Size) (keys[i] - op->base) * width,
					   vals + (Size) i * width, sizeof(float4) * width);
		return;
	}

	/* Merge page keys and new keys into scratch, new values winning. */
	mkeys = (int64 *) scratch;
	mvals = (float4 *) (scratch + PS_LEAF_SCRATCH_VALS);
	pv = PsLeafVals(page);
	i = j = m = 0;
	while (i < n || j < nkeys)
	{
		int64		pk = (i < n) ? PsLeafKeyAt(page, i) : PG_INT64_MAX;

		if (j < nkeys && (i >= n || keys[j] <= pk))
		{
			mkeys[m] = keys[j];
			memcpy(mvals + (Size) m * width, vals + (Size) j * width,
				   sizeof(float4) * width);
			if (i < n && keys[j] == pk)
				i++;
			j++;
		}
		else
		{
			mkeys[m] = pk;
			memcpy(mvals + (Size) m * width, pv + (Size) i * width,
				   sizeof(float4) * width);
			i++;
		}
		m++;
	}
	leaf_store(page, mkeys, m, mvals);
}

/*
 * Drop the keys >= splitkey from a leaf and make splitkey - 1 its upper
 * bound.  Used on the left half of a split.
 */
void
ps_leaf_truncate(Page page, int64 splitkey)
{
	PsPageOpaque op = PsPageGetOpaque(page);
	int			keep = ps_leaf_lower_bound(page, splitkey);

	op->hi = splitkey - 1;
	if (keep == (int) op->nitems)
		return;
	if (PsLeafIsDense(op))
	{
		/* a prefix of a contiguous run stays contiguous */
		op->nitems = keep;
		if (keep == 0)
			op->flags &= ~PS_LEAF_DENSE;
		((PageHeader) page)->pd_lower =
			PsPagePayload(page) + sizeof(float4) * op->width * keep - (char *) page;
	}
	else
	{
		/*
		 * A prefix of a sparse key set may be contiguous, in which case the
		 * page turns dense; leaf_store decides.  Keys and values are moved
		 * within the page, values first because they lie behind the keys.
		 */
		int64	   *keys = PsLeafKeys(page);
		float4	   *vals = PsLeafVals(page);
		float4	   *newvals = (float4 *) (keys + keep);

		memmove(newvals, vals, sizeof(float4) * op->width * keep);
		op->nitems = keep;
		leaf_store(page, keys, keep, newvals);
	}
}

/*
 * Fill the empty leaf dst with src's keys from slot "from" to its end.
 * Used for the right half of a split; the caller truncates src afterwards.
 */
void
ps_leaf_copy_from(Page dst, Page src, int from)
{
	PsPageOpaque sop = PsPageGetOpaque(src);
	int			width = sop->width;
	int			n = sop->nitems - from;
	PsPageOpaque dop = PsPageGetOpaque(dst);

	Assert(dop->nitems == 0);
	if (n <= 0)
		return;
	if (PsLeafIsDense(sop))
	{
		dop->flags |= PS_LEAF_DENSE;
		dop->base = sop->base + from;
		dop->nitems = n;
		memcpy(PsPagePayload(dst), PsLeafVals(src) + (Size) from * width,
			   sizeof(float4) * width * n);
		((PageHeader) dst)->pd_lower =
			PsPagePayload(dst) + sizeof(float4) * width * n - (char *) dst;
	}
	else
		leaf_store(dst, PsLeafKeys(src) + from, n,
				   PsLeafVals(src) + (Size) from * width);
}

/*
 * Write a sorted, distinct key set with its values as the leaf's whole
 * payload, choosing the representation.  keys and vals may point into the
 * page itself as long as they start at or after where they will be written
 * (memmove semantics, values written after keys).
 */
static void
leaf_store(Page page, const int64 *keys, int nkeys, const float4 *vals)
{
	PsPageOpaque op = PsPageGetOpaque(page);
	int			width = op->width;
	char	   *payload = PsPagePayload(page);
	Size		vbytes = sizeof(float4) * width * nkeys;

	if (nkeys > 0 && (uint64) keys[nkeys - 1] - (uint64) keys[0] == (uint64) (nkeys - 1))
	{
		op->base = keys[0];
		op->flags |= PS_LEAF_DENSE;
		memmove(payload, vals, vbytes);
		((PageHeader) page)->pd_lower = payload + vbytes - (char *) page;
	}
	else
	{
		Size		kbytes = sizeof(int64) * nkeys;

		op->base = 0;
		op->flags &= ~PS_LEAF_DENSE;
		if ((const char *) keys != payload)
			memmove(payload, keys, kbytes);
		memmove(payload + kbytes, vals, vbytes);
		((PageHeader) page)->pd_lower = payload + kbytes + vbytes - (char *) page;
	}
	op->nitems = nkeys;
}

/*
 * Check a leaf's invariants; on failure set *why.  Used by ps_check().
 */
bool
ps_leaf_check(Page page, char **why)
{
	PsPageOpaque op = PsPageGetOpaque(page);
	int			n = op->nitems;
	int			i;
	Size		expect;

	if (op->page_id != PS_PAGE_ID || op->kind != PS_PAGE_LEAF)
	{
		*why = "not a ps leaf page";
		return false;
	}
	if (op->lo > op->hi)
	{
		*why = "lower bound above upper bound";
		return false;
	}
	if (op->width < 1 || op->width > PS_MAX_WIDTH)
	{
		*why = "width out of range";
		return false;
	}
	if (PsLeafIsDense(op))
	{
		if (n == 0)
		{
			*why = "empty dense leaf";
			return false;
		}
		if (op->base < op->lo || op->base > op->hi ||
			(uint64) op->hi - (uint64) op->base < (uint64) (n - 1))
		{
			*why = "dense run outside the leaf's bounds";
			return false;
		}
		expect = sizeof(float4) * op->width * n;
		if (n > PsLeafDenseCapacity(op->width))
		{
			*why = "dense leaf over capacity";
			return false;
		}
	}
	else
	{
		const int64 *keys = PsLeafKeys(page);

		if (n > PsLeafSparseCapacity(op->width))
		{
			*why = "sparse leaf over capacity";
			return false;
		}
		for (i = 0; i < n; i++)
		{
			if (keys[i] < op->lo || keys[i] > op->hi)
			{
				*why = "key outside the leaf's bounds";
				return false;
			}
			if (i > 0 && keys[i] <= keys[i - 1])
			{
				*why = "keys not strictly ascending";
				return false;
			}
		}
		if (n > 0 && (uint64) keys[n - 1] - (uint64) keys[0] == (uint64) (n - 1))
		{
			*why = "contiguous keys stored sparse";
			return false;
		}
		expect = (sizeof(int64) + sizeof(float4) * op->width) * n;
	}
	if (((PageHeader) page)->pd_lower != PsPagePayload(page) + expect - (char *) page)
	{
		*why = "pd_lower does not match the payload";
		return false;
	}
	return true;
}

/* End of the exactly-once area of a metapage, as an offset in the page. */
static Size
once_area_end(void)
{
	return MAXALIGN(SizeOfPageHeaderData) + PS_ONCE_AREA_OFFSET +
		offsetof(PsOnceArea, entries) + sizeof(PsOnceEntry) * PS_ONCE_CAPACITY;
}

/* Does the metapage have its exactly-once area? */
bool
ps_once_area_valid(Page meta)
{
	return ((PageHeader) meta)->pd_lower >= once_area_end();
}

/* The entry of client in the metapage's area, or -1. */
int
ps_once_find(Page meta, uint64 client)
{
	PsOnceArea *a;
	int			i;

	if (!ps_once_area_valid(meta))
		return -1;
	a = PsPageGetOnce(meta);
	for (i = 0; i < PS_ONCE_CAPACITY; i++)
		if (a->entries[i].client == client)
			return i;
	return -1;
}

/*
 * Plan the change that gives each of the n clients of want its entry:
 * the client's own, else a free one, else the least recently written one
 * (an eviction).  Writes the change (PsOnceChange, then n PsOnceSlot) to
 * out and returns its length; the page is not changed.  The clients of
 * want are distinct.
 */
Size
ps_once_plan(Page meta, const PsOnceEntry *want, int n, char *out)
{
	PsOnceChange *ch = (PsOnceChange *) out;
	PsOnceSlot *slots = (PsOnceSlot *) (out + sizeof(PsOnceChange));
	bool		valid = ps_once_area_valid(meta);
	PsOnceArea *a = PsPageGetOnce(meta);
	int			i,
				j;

	ch->init = !valid;
	ch->nentries = (uint16) n;
	ch->nused = valid ? a->nused : 0;
	ch->evictions = valid ? a->evictions : 0;
	/* first every client's own entry, so that none is given to another */
	for (i = 0; i < n; i++)
	{
		slots[i].slot = (uint32) (valid ? ps_once_find(meta, want[i].client) : -1);
		slots[i].pad = 0;
		slots[i].entry = want[i];
	}
	for (i = 0; i < n; i++)
	{
		int			slot = -1;

		if (slots[i].slot != (uint32) -1)
			continue;
		if (ch->nused < (uint32) PS_ONCE_CAPACITY)
			slot = ch->nused++;
		else
		{
			/* the least recent entry not given out in this change */
			uint64		oldest = PG_UINT64_MAX;

			for (j = 0; j < PS_ONCE_CAPACITY; j++)
			{
				bool		taken = false;
				int			k;

				for (k = 0; k < n; k++)
					taken |= slots[k].slot == (uint32) j;
				if (!taken && a->entries[j].stamp <= oldest)
				{
					oldest = a->entries[j].stamp;
					slot = j;
				}
			}
			ch->evictions++;
		}
		slots[i].slot = (uint32) slot;
	}
	return sizeof(PsOnceChange) + sizeof(PsOnceSlot) * n;
}

/* Make a planned change (ps_once_plan): during normal running and redo. */
void
ps_once_change(Page meta, const char *data, Size len)
{
	PsOnceChange ch;
	PsOnceArea *a = PsPageGetOnce(meta);
	int			i;

	memcpy(&ch, data, sizeof(ch));
	Assert(len == sizeof(PsOnceChange) + sizeof(PsOnceSlot) * ch.nentries);
	if (ch.init)
	{
		memset(a, 0, once_area_end() - MAXALIGN(SizeOfPageHeaderData) - PS_ONCE_AREA_OFFSET);
		((PageHeader) meta)->pd_lower = once_area_end();
	}
	a->nused = ch.nused;
	a->evictions = ch.evictions;
	for (i = 0; i < ch.nentries; i++)
	{
		PsOnceSlot	s;

		memcpy(&s, data + sizeof(PsOnceChange) + sizeof(PsOnceSlot) * i, sizeof(s));
		if (s.slot < (uint32) PS_ONCE_CAPACITY)
			a->entries[s.slot] = s.entry;
	}
}
