/*-------------------------------------------------------------------------
 *
 * ps_xlog.c
 *	  The ps custom WAL resource manager: registration, redo, description
 *	  and masking for wal_consistency_checking.
 *
 * Redo changes pages only through the page routines of ps_page.c, the same
 * ones normal running uses, so a replayed page is byte-identical to the
 * original (modulo LSN, checksum and the unused hole, which ps_mask masks).
 * Records hold after-images, so replaying one twice is harmless.
 *
 * The library must be loaded through shared_preload_libraries for the
 * resource manager to exist: a server that finds ps records in WAL without
 * it refuses to start recovery.
 *
 * Layer 2 (WAL): builds and replays records of page changes; calls only
 * the page layout (and reads ps.replay_wal_0_2 from the base).  Redo must not touch the catalogs, shared ps state or
 * anything that needs a database connection.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/bufmask.h"
#include "access/xloginsert.h"
#include "access/xlogutils.h"
#include "storage/bufmgr.h"

#include "ps_base.h"
#include "ps_page.h"
#include "ps_xlog.h"


static void ps_redo_0_2(XLogReaderState *record);
static void ps_desc_0_2(StringInfo buf, XLogReaderState *record);

static RmgrData ps_rmgr = {
	.rm_name = PS_RMGR_NAME,
	.rm_redo = ps_redo,
	.rm_desc = ps_desc,
	.rm_identify = ps_identify,
	.rm_startup = NULL,
	.rm_cleanup = NULL,
	.rm_mask = ps_mask,
	.rm_decode = NULL
};

/* the WAL of library versions up to 0.2: format 1, under id 128 */
static RmgrData ps_rmgr_0_2 = {
	.rm_name = PS_RMGR_NAME_0_2,
	.rm_redo = ps_redo_0_2,
	.rm_desc = ps_desc_0_2,
	.rm_identify = ps_identify,
	.rm_startup = NULL,
	.rm_cleanup = NULL,
	.rm_mask = ps_mask,
	.rm_decode = NULL
};

static const xl_ps_header ps_header = {.format = PS_WAL_FORMAT,.reserved = 0};

/* scratch for redo; redo runs in the startup process, one record at a time */
static char redo_scratch[PS_LEAF_SCRATCH_SIZE];
static int64 redo_keys[PS_PAGE_PAYLOAD / sizeof(float4)];
static float4 redo_vals[PS_PAGE_PAYLOAD / sizeof(float4)];
static int	redo_slots[PS_PAGE_PAYLOAD / sizeof(float4)];

void
ps_xlog_register(void)
{
	RegisterCustomRmgr(RM_PS_ID, &ps_rmgr);
	if (ps_replay_wal_0_2)
		RegisterCustomRmgr(RM_PS_ID_0_2, &ps_rmgr_0_2);
}

void
ps_xlog_begin(void)
{
	XLogBeginInsert();
	XLogRegisterData((char *) &ps_header, sizeof(ps_header));
}

/*
 * The format of a record and its own main data (after the header).
 * Records of the current id carry the header; those of the 0.2 id are
 * format 1, without it.
 */
static char *
record_data(XLogReaderState *record, bool legacy, uint32 *format)
{
	char	   *data = XLogRecGetData(record);
	xl_ps_header hdr;

	if (legacy)
	{
		*format = 1;
		return data;
	}
	if (XLogRecGetDataLen(record) < sizeof(hdr))
		elog(PANIC, "ps redo: record without a format header");
	memcpy(&hdr, data, sizeof(hdr));
	if (hdr.format < 2 || hdr.format > PS_WAL_FORMAT)
		ereport(PANIC,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("ps WAL record of format %u, this library replays formats 1 to %u",
						hdr.format, PS_WAL_FORMAT),
				 errhint("Install the ps library that wrote this WAL (or a newer one) and restart.")));
	*format = hdr.format;
	return data + sizeof(hdr);
}

/*
 * Size of a key block as written by ps_xlog_put_keys.
 */
Size
ps_xlog_keys_size(int nkeys, int format, int width)
{
	Size		keybytes;

	switch (format)
	{
		case PS_KEYS_RUN:
			keybytes = sizeof(int64);
			break;
		case PS_KEYS_SLOTS:
			keybytes = TYPEALIGN(sizeof(int64), sizeof(uint16) * nkeys);
			break;
		default:
			keybytes = sizeof(int64) * nkeys;
			break;
	}
	return sizeof(xl_ps_keys) + keybytes + sizeof(float4) * width * nkeys;
}

/*
 * Start a key block: write its header and keys and return where its
 * nkeys * width floats go.  With slots (all keys on the leaf already) the
 * keys are written as slots; contiguous keys as their first key; others
 * listed.  dst must be 8-byte aligned; the values then are too.
 */
float4 *
ps_xlog_put_keys(char *dst, const int64 *keys, const int *slots, int nkeys,
				 int width)
{
	xl_ps_keys	hdr;
	char	   *p = dst + sizeof(hdr);
	int			i;

	hdr.nkeys = nkeys;
	hdr.width = width;
	if (nkeys > 0 &&
		(uint64) keys[nkeys - 1] - (uint64) keys[0] == (uint64) (nkeys - 1))
	{
		hdr.format = PS_KEYS_RUN;
		memcpy(p, &keys[0], sizeof(int64));
	}
	else if (slots != NULL)
	{
		uint16	   *s = (uint16 *) p;

		hdr.format = PS_KEYS_SLOTS;
		for (i = 0; i < nkeys; i++)
			s[i] = (uint16) slots[i];
		for (; (i * sizeof(uint16)) % sizeof(int64) != 0; i++)
			s[i] = 0;
	}
	else
	{
		hdr.format = PS_KEYS_LIST;
		memcpy(p, keys, sizeof(int64) * nkeys);
	}
	memcpy(dst, &hdr, sizeof(hdr));
	return (float4 *) (dst + ps_xlog_keys_size(nkeys, hdr.format, width) -
					   sizeof(float4) * width * nkeys);
}

/*
 * Apply a key block to a leaf.  The data may be unaligned in the record, so
 * keys and values are copied out before use.
 */
static void
redo_apply_keys(Page page, const char *data, Size len)
{
	PsPageOpaque op = PsPageGetOpaque(page);
	xl_ps_keys	hdr;
	const char *vals;
	int			i;

	memcpy(&hdr, data, sizeof(hdr));
	if (hdr.nkeys > lengthof(redo_keys) || hdr.width != op->width ||
		hdr.format > PS_KEYS_SLOTS ||
		len != ps_xlog_keys_size(hdr.nkeys, hdr.format, hdr.width))
		elog(PANIC, "ps redo: malformed key block (%u keys, width %u, format %u, %zu bytes)",
			 hdr.nkeys, hdr.width, hdr.format, len);
	if (hdr.nkeys == 0)
		return;
	vals = data + len - sizeof(float4) * hdr.width * hdr.nkeys;
	memcpy(redo_vals, vals, sizeof(float4) * hdr.width * hdr.nkeys);
	data += sizeof(hdr);

	if (hdr.format == PS_KEYS_SLOTS)
	{
		for (i = 0; i < (int) hdr.nkeys; i++)
		{
			uint16		slot;

			memcpy(&slot, data + sizeof(uint16) * i, sizeof(uint16));
			if (slot >= op->nitems)
				elog(PANIC, "ps redo: slot %u beyond the %u keys of the leaf",
					 slot, op->nitems);
			redo_slots[i] = slot;
		}
		ps_leaf_write_slots(page, redo_slots, hdr.nkeys, redo_vals);
		return;
	}
	if (hdr.format == PS_KEYS_RUN)
	{
		int64		first;

		memcpy(&first, data, sizeof(int64));
		for (i = 0; i < (int) hdr.nkeys; i++)
			redo_keys[i] = first + i;
	}
	else
		memcpy(redo_keys, data, sizeof(int64) * hdr.nkeys);
	ps_leaf_set(page, redo_keys, hdr.nkeys, redo_vals, redo_scratch);
}

static void
redo_init(XLogReaderState *record, const char *data)
{
	xl_ps_init	xlrec;
	Buffer		bufs[3];
	int			i;

	memcpy(&xlrec, data, sizeof(xlrec));
	for (i = 0; i < 3; i++)
		bufs[i] = XLogInitBufferForRedo(record, i);
	ps_page_init_table(BufferGetPage(bufs[0]), BufferGetPage(bufs[1]),
					   BufferGetPage(bufs[2]), xlrec.dim, xlrec.width);
	for (i = 0; i < 3; i++)
	{
		PageSetLSN(BufferGetPage(bufs[i]), record->EndRecPtr);
		MarkBufferDirty(bufs[i]);
		UnlockReleaseBuffer(bufs[i]);
	}
}

/*
 * The metapage of an XLOG_PS_SET_ONCE record (block block_id).  The
 * leaves of the record are released already: a hot-standby reader may
 * see their values before the records, which only ps_push_msg reads, and
 * nothing runs it on a standby.
 */
static void
redo_once(XLogReaderState *record, uint8 block_id)
{
	Buffer		buf;

	if (XLogReadBufferForRedo(record, block_id, &buf) == BLK_NEEDS_REDO)
	{
		Page		page = BufferGetPage(buf);
		Size		len;
		char	   *data = XLogRecGetBlockData(record, block_id, &len);

		ps_once_change(page, data, len);
		PageSetLSN(page, record->EndRecPtr);
		MarkBufferDirty(buf);
	}
	if (BufferIsValid(buf))
		UnlockReleaseBuffer(buf);
}

static void
redo_set(XLogReaderState *record, const char *rec, bool once)
{
	xl_ps_set	xlrec;
	int			i;

	memcpy(&xlrec, rec, SizeOfPsSet);
	for (i = 0; i < xlrec.nblocks; i++)
	{
		Buffer		buf;

		if (XLogReadBufferForRedo(record, i, &buf) == BLK_NEEDS_REDO)
		{
			Page		page = BufferGetPage(buf);
			Size		len;
			char	   *data = XLogRecGetBlockData(record, i, &len);
			PsPageOpaque op = PsPageGetOpaque(page);

			redo_apply_keys(page, data, len);
			if (xlrec.clock > op->clock)
				op->clock = xlrec.clock;
			PageSetLSN(page, record->EndRecPtr);
			MarkBufferDirty(buf);
		}
		if (BufferIsValid(buf))
			UnlockReleaseBuffer(buf);
	}
	if (once)
		redo_once(record, xlrec.nblocks);
}

/*
 * Replay a split.  Hot-standby readers must never see the left leaf link to
 * a right leaf that does not exist yet, nor the metapage count an entry the
 * directory does not have: so, as during normal running, every page of the
 * split stays locked until all of them are changed, and the right leaf is
 * built before the left leaf points at it.
 */
static void
redo_split(XLogReaderState *record, const char *rec)
{
	xl_ps_split xlrec;
	XLogRecPtr	lsn = record->EndRecPtr;
	Buffer		bufs[5] = {InvalidBuffer, InvalidBuffer, InvalidBuffer,
	InvalidBuffer, InvalidBuffer};
	Page		page;
	char	   *data;
	Size		len;
	int			i;

	memcpy(&xlrec, rec, sizeof(xlrec));

	/* right leaf: rebuilt from the record */
	bufs[1] = XLogInitBufferForRedo(record, 1);
	page = BufferGetPage(bufs[1]);
	ps_page_init_leaf(page, xlrec.splitkey, xlrec.hi, xlrec.width, xlrec.clock,
					  xlrec.rightnext);
	data = XLogRecGetBlockData(record, 1, &len);
	redo_apply_keys(page, data, len);
	PageSetLSN(page, lsn);
	MarkBufferDirty(bufs[1]);

	/* left leaf: drop the keys that moved right, link to the right leaf */
	if (XLogReadBufferForRedo(record, 0, &bufs[0]) == BLK_NEEDS_REDO)
	{
		page = BufferGetPage(bufs[0]);
		ps_leaf_truncate(page, xlrec.splitkey);
		PsPageGetOpaque(page)->next = xlrec.right;
		PageSetLSN(page, lsn);
		MarkBufferDirty(bufs[0]);
	}

	/* metapage after-image */
	if (XLogReadBufferForRedo(record, 2, &bufs[2]) == BLK_NEEDS_REDO)
	{
		page = BufferGetPage(bufs[2]);
		data = XLogRecGetBlockData(record, 2, &len);
		memcpy(PsPageGetMeta(page), data, sizeof(PsMetaData));
		PageSetLSN(page, lsn);
		MarkBufferDirty(bufs[2]);
	}

	/* directory page(s) */
	if (XLogReadBufferForRedo(record, 3, &bufs[3]) == BLK_NEEDS_REDO)
	{
		xl_ps_dir_append app;

		page = BufferGetPage(bufs[3]);
		data = XLogRecGetBlockData(record, 3, &len);
		memcpy(&app, data, sizeof(app));
		ps_dir_page_append(page, app.pos, app.next, &app.entry);
		PageSetLSN(page, lsn);
		MarkBufferDirty(bufs[3]);
	}
	if (xlrec.newdirpage)
	{
		xl_ps_dir_append app;

		bufs[4] = XLogInitBufferForRedo(record, 4);
		page = BufferGetPage(bufs[4]);
		ps_page_init_dir(page);
		data = XLogRecGetBlockData(record, 4, &len);
		memcpy(&app, data, sizeof(app));
		ps_dir_page_append(page, app.pos, app.next, &app.entry);
		PageSetLSN(page, lsn);
		MarkBufferDirty(bufs[4]);
	}

	for (i = 0; i < 5; i++)
		if (BufferIsValid(bufs[i]))
			UnlockReleaseBuffer(bufs[i]);
}

static void
redo_meta(XLogReaderState *record)
{
	Buffer		buf;

	if (XLogReadBufferForRedo(record, 0, &buf) == BLK_NEEDS_REDO)
	{
		Page		page = BufferGetPage(buf);
		Size		len;
		char	   *data = XLogRecGetBlockData(record, 0, &len);

		memcpy(PsPageGetMeta(page), data, sizeof(PsMetaData));
		PageSetLSN(page, record->EndRecPtr);
		MarkBufferDirty(buf);
	}
	if (BufferIsValid(buf))
		UnlockReleaseBuffer(buf);
}

/*
 * Replay a record of any format.  Formats 1 and 2 differ only in the
 * header, so the records' own data are read alike.
 */
static void
redo_record(XLogReaderState *record, bool legacy)
{
	uint8		info = XLogRecGetInfo(record) & ~XLR_INFO_MASK;
	uint32		format;
	char	   *data = record_data(record, legacy, &format);

	switch (info)
	{
		case XLOG_PS_INIT:
			redo_init(record, data);
			break;
		case XLOG_PS_SET:
			redo_set(record, data, false);
			break;
		case XLOG_PS_SET_ONCE:
			redo_set(record, data, true);
			break;
		case XLOG_PS_SPLIT:
			redo_split(record, data);
			break;
		case XLOG_PS_META:
			redo_meta(record);
			break;
		default:
			elog(PANIC, "ps_redo: unknown op code %u", info);
	}
}

void
ps_redo(XLogReaderState *record)
{
	redo_record(record, false);
}

static void
ps_redo_0_2(XLogReaderState *record)
{
	redo_record(record, true);
}

const char *
ps_identify(uint8 info)
{
	switch (info & ~XLR_INFO_MASK)
	{
		case XLOG_PS_INIT:
			return "INIT";
		case XLOG_PS_SET:
			return "SET";
		case XLOG_PS_SET_ONCE:
			return "SET_ONCE";
		case XLOG_PS_SPLIT:
			return "SPLIT";
		case XLOG_PS_META:
			return "META";
	}
	return NULL;
}

static void
desc_record(StringInfo buf, XLogReaderState *record, bool legacy)
{
	uint8		info = XLogRecGetInfo(record) & ~XLR_INFO_MASK;
	char	   *rec = XLogRecGetData(record);

	if (!legacy)
	{
		xl_ps_header hdr;

		if (XLogRecGetDataLen(record) < sizeof(hdr))
			return;
		memcpy(&hdr, rec, sizeof(hdr));
		appendStringInfo(buf, "format %u: ", hdr.format);
		rec += sizeof(hdr);
	}
	switch (info)
	{
		case XLOG_PS_INIT:
			{
				xl_ps_init xlrec;

				memcpy(&xlrec, rec, sizeof(xlrec));
				appendStringInfo(buf, "dim %u, width %u", xlrec.dim, xlrec.width);
				break;
			}
		case XLOG_PS_SET:
		case XLOG_PS_SET_ONCE:
			{
				xl_ps_set	xlrec;

				memcpy(&xlrec, rec, SizeOfPsSet);
				appendStringInfo(buf, "clock " UINT64_FORMAT ", %u leaves%s",
								 xlrec.clock, xlrec.nblocks,
								 info == XLOG_PS_SET_ONCE ? ", exactly-once records" : "");
				break;
			}
		case XLOG_PS_SPLIT:
			{
				xl_ps_split xlrec;

				memcpy(&xlrec, rec, sizeof(xlrec));
				appendStringInfo(buf, "split at " INT64_FORMAT ", right leaf %u%s",
								 xlrec.splitkey, xlrec.right,
								 xlrec.newdirpage ? ", new directory page" : "");
				break;
			}
		case XLOG_PS_META:
			appendStringInfoString(buf, "metapage");
			break;
	}
}

void
ps_desc(StringInfo buf, XLogReaderState *record)
{
	desc_record(buf, record, false);
}

static void
ps_desc_0_2(StringInfo buf, XLogReaderState *record)
{
	desc_record(buf, record, true);
}

/*
 * Mask what may legitimately differ between a page and its replay: LSN,
 * checksum and the unused hole between pd_lower and pd_upper.
 */
void
ps_mask(char *pagedata, BlockNumber blkno)
{
	Page		page = (Page) pagedata;

	mask_page_lsn_and_checksum(page);
	mask_unused_space(page);
}
