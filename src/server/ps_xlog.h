/*-------------------------------------------------------------------------
 *
 * ps_xlog.h
 *	  WAL records of the ps custom resource manager.
 *
 * Every record carries after-images: the values a key has after the change,
 * never the change itself, so replaying a record twice gives the same page.
 * Records are built by ps_dir.c and ps_store.c; ps_xlog.c replays them.
 *
 * Layer 2 (WAL).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_XLOG_H
#define PS_XLOG_H

#include "access/xlog_internal.h"
#include "access/xlogreader.h"
#include "lib/stringinfo.h"
#include "storage/block.h"

#include "ps_page.h"

/*
 * The resource manager id of ps, from the range PostgreSQL leaves to
 * extensions (128 .. 255), chosen among the ids that no published
 * extension uses (https://wiki.postgresql.org/wiki/CustomWALResourceManagers
 * lists the ones taken: 129 and up are assigned from the bottom).  Library
 * versions up to 0.2 wrote RM_EXPERIMENTAL_ID (128), which is for
 * development only: with ps.replay_wal_0_2 = on, that id is registered as
 * well, to replay WAL those versions wrote.
 */
#define RM_PS_ID		212
#define RM_PS_ID_0_2	RM_EXPERIMENTAL_ID
#define PS_RMGR_NAME	"ps"
#define PS_RMGR_NAME_0_2 "ps 0.2"

/*
 * Every record's main data starts with the format it was written in, so
 * that a newer library replays the WAL of an older one (it keeps the redo
 * of every older format) and an older library refuses a newer format
 * instead of misreading it.  Format 1 is the WAL of versions up to 0.2,
 * which had no header (and used RM_PS_ID_0_2); format 2 is format 1 with
 * this header.
 */
#define PS_WAL_FORMAT	2

typedef struct xl_ps_header
{
	uint32		format;			/* PS_WAL_FORMAT of the writer */
	uint32		reserved;
} xl_ps_header;

/*
 * XLOG_PS_INIT: a new, empty table: metapage (block 0), the single leaf
 * covering all keys (block 1) and the first directory page (block 2), all
 * re-initialised on redo.  Main data: xl_ps_init.
 */
#define XLOG_PS_INIT	0x00

/*
 * XLOG_PS_SET: set keys to values on up to PS_MAX_SET_BLOCKS leaves.
 * Main data: xl_ps_set.  Data of each block: a key block, see xl_ps_keys.
 */
#define XLOG_PS_SET		0x10

/*
 * XLOG_PS_SPLIT: split a leaf.  Block 0: the left leaf, truncated at
 * splitkey.  Block 1: the new right leaf, initialised and filled from its
 * data (an xl_ps_keys block as in XLOG_PS_SET).  Block 2: the metapage, data
 * is its PsMetaData after-image.  Block 3: the directory page that receives
 * the right leaf's entry (xl_ps_dir_append), or, when that page is full, the
 * old last directory page whose next link changes (xl_ps_dir_append with
 * pos == -1); block 4 is then the new directory page holding the entry.
 */
#define XLOG_PS_SPLIT	0x20

/* XLOG_PS_META: block 0 is the metapage, data its PsMetaData after-image. */
#define XLOG_PS_META	0x30

/*
 * XLOG_PS_SET_ONCE: XLOG_PS_SET of pushes with exactly-once ids: blocks 0
 * .. nblocks - 1 the leaves as there, block nblocks the metapage, its data
 * the change of its exactly-once records (PsOnceChange, then PsOnceSlot
 * after-images; ps_page.h).  nblocks may be 0.
 */
#define XLOG_PS_SET_ONCE 0x40

/* The main data of each record: xl_ps_header, then the record's struct. */

#define PS_MAX_SET_BLOCKS	32	/* XLR_MAX_BLOCK_ID allows 33 */

typedef struct xl_ps_init
{
	uint32		dim;
	uint32		width;
} xl_ps_init;

typedef struct xl_ps_set
{
	uint64		clock;			/* timestamp of the change */
	uint16		nblocks;
} xl_ps_set;

#define SizeOfPsSet (offsetof(xl_ps_set, nblocks) + sizeof(uint16))

/*
 * A key block: xl_ps_keys, then the keys in one of three formats, then
 * nkeys * width float4 records (after-images), 8-byte aligned.
 *
 *	 PS_KEYS_LIST	nkeys int64 keys, ascending
 *	 PS_KEYS_RUN	one int64: the keys are first .. first + nkeys - 1
 *	 PS_KEYS_SLOTS	nkeys uint16 slots of keys already on the leaf, padded
 *					to 8 bytes.  Valid because redo only applies a record
 *					to the page state it was made against (page LSN).
 */
#define PS_KEYS_LIST	0
#define PS_KEYS_RUN		1
#define PS_KEYS_SLOTS	2

typedef struct xl_ps_keys
{
	uint32		nkeys;
	uint16		format;			/* PS_KEYS_* */
	uint16		width;			/* floats per key */
} xl_ps_keys;

StaticAssertDecl(sizeof(xl_ps_keys) == 8, "key block header keeps keys aligned");

typedef struct xl_ps_split
{
	int64		splitkey;		/* first key of the right leaf */
	int64		hi;				/* upper bound of the right leaf */
	uint64		clock;			/* clock of both halves */
	BlockNumber right;			/* the new right leaf */
	BlockNumber rightnext;		/* right sibling of the new right leaf */
	uint16		width;
	uint16		newdirpage;		/* block 4 is a new directory page */
} xl_ps_split;

typedef struct xl_ps_dir_append
{
	int32		pos;			/* entry position, -1: only set next */
	BlockNumber next;			/* the page's next link after the change */
	PsDirEntry	entry;
} xl_ps_dir_append;


/* Start a ps record: the header goes first into its main data. */
extern void ps_xlog_begin(void);
extern void ps_xlog_register(void);
extern void ps_redo(XLogReaderState *record);
extern void ps_desc(StringInfo buf, XLogReaderState *record);
extern const char *ps_identify(uint8 info);
extern void ps_mask(char *pagedata, BlockNumber blkno);

extern Size ps_xlog_keys_size(int nkeys, int format, int width);
extern float4 *ps_xlog_put_keys(char *dst, const int64 *keys, const int *slots,
								 int nkeys, int width);

/* largest key block: a dense leaf's worth of keys, listed, with values */
#define PS_KEYS_BLOCK_MAX \
	MAXALIGN(sizeof(xl_ps_keys) + sizeof(int64) * PsLeafDenseCapacity(1) + \
			 PS_PAGE_PAYLOAD)

/* WAL stores a block's data length in 16 bits */
StaticAssertDecl(PS_KEYS_BLOCK_MAX <= UINT16_MAX,
				 "a key block must fit the 16-bit block data length of WAL");

#endif							/* PS_XLOG_H */
