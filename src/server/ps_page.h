/*-------------------------------------------------------------------------
 *
 * ps_page.h
 *	  On-page layout of a ps table: the metapage, directory pages and leaf
 *	  pages that hold key ranges.
 *
 * Block 0 is the metapage.  Leaf pages hold one contiguous interval of the
 * int64 key space each ([lo, hi], inclusive) and are chained left to right;
 * together they partition the whole key space, so every key has exactly one
 * leaf it belongs to.  A leaf stores its keys sorted and its values as one
 * dense float4 array (dim floats per key), in one of two representations:
 *
 *	  sparse: int64 keys[n], then float4 vals[n * dim]
 *	  dense:  float4 vals[n * dim] for the keys base .. base + n - 1
 *
 * The representation is a function of the key set alone (dense exactly when
 * the keys are contiguous), so the code that changes a page during normal
 * running and the code that replays the change from WAL always arrive at the
 * same bytes.  All payload lies between the page header and pd_lower: the
 * hole up to pd_upper is left out of full-page images.
 *
 * Directory pages hold an append-only list of (lo, leaf block) entries, one
 * per leaf.  Backends read it once into a sorted in-memory directory and
 * route sorted request keys to leaves with one merge; see ps_dir.c.
 *
 * This file and ps_page.c know nothing about buffers, locks or WAL.
 *
 * Layer 1 (pure code).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_PAGE_H
#define PS_PAGE_H

#include "storage/block.h"
#include "storage/bufpage.h"

/* page kinds, stored in the special space */
#define PS_PAGE_META	1
#define PS_PAGE_LEAF	2
#define PS_PAGE_DIR		3

#define PS_PAGE_ID		0xF5A1	/* identifies ps pages, like BTREE_PAGE_ID */

/* leaf flags */
#define PS_LEAF_DENSE	0x0001

#define PS_META_BLKNO		0
#define PS_FIRST_LEAF_BLKNO 1	/* leftmost leaf forever: splits move right */
#define PS_FIRST_DIR_BLKNO	2

#define PS_MAGIC		0x70734d31	/* "psM1" */
#define PS_LAYOUT_VERSION 1

/* Largest width: a sparse leaf must hold at least two keys to split. */
#define PS_MAX_WIDTH	1000
#define PS_MAX_DIM		PS_MAX_WIDTH

/*
 * Special space of every ps page.  Fields are used per kind as noted; the
 * kind and page id come last so that a page is identifiable from its end.
 */
typedef struct PsPageOpaqueData
{
	int64		lo;				/* leaf: smallest key the leaf may hold */
	int64		hi;				/* leaf: largest key the leaf may hold */
	uint64		clock;			/* leaf: timestamp of the last push applied */
	int64		base;			/* dense leaf: key of slot 0 */
	BlockNumber next;			/* leaf: right sibling; dir: next dir page */
	uint32		nitems;			/* leaf: keys held; dir: entries held */
	uint16		width;			/* leaf: floats per key (values, then state) */
	uint16		flags;			/* leaf: PS_LEAF_DENSE */
	uint16		kind;			/* PS_PAGE_* */
	uint16		page_id;		/* PS_PAGE_ID */
} PsPageOpaqueData;

typedef PsPageOpaqueData *PsPageOpaque;

#define PsPageGetOpaque(page) ((PsPageOpaque) PageGetSpecialPointer(page))
#define PsPageIsLeaf(page) (PsPageGetOpaque(page)->kind == PS_PAGE_LEAF)
#define PsLeafIsDense(op) (((op)->flags & PS_LEAF_DENSE) != 0)

/* bytes available for payload on any ps page */
#define PS_PAGE_PAYLOAD \
	(BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - MAXALIGN(sizeof(PsPageOpaqueData)))

#define PsPagePayload(page) ((char *) (page) + MAXALIGN(SizeOfPageHeaderData))

/* keys a leaf can hold in each representation */
#define PsLeafSparseCapacity(width) \
	((int) (PS_PAGE_PAYLOAD / (sizeof(int64) + sizeof(float4) * (width))))
#define PsLeafDenseCapacity(width) \
	((int) (PS_PAGE_PAYLOAD / (sizeof(float4) * (width))))

/* Metapage contents, stored at the start of the payload. */
typedef struct PsMetaData
{
	uint32		magic;			/* PS_MAGIC */
	uint32		version;		/* PS_LAYOUT_VERSION */
	uint32		dim;			/* values per key, fixed at initialisation */
	uint32		width;			/* floats stored per key: dim, then state */
	uint32		ndir;			/* directory entries (== leaves) */
	BlockNumber last_dir;		/* directory page that receives new entries */
	uint32		ndirpages;		/* directory pages */
	uint64		ts_reserved;	/* task timestamps up to this may be issued */
} PsMetaData;

#define PsPageGetMeta(page) ((PsMetaData *) PsPagePayload(page))

/*
 * Exactly-once records, in the metapage after PsMetaData: for each client
 * that pushed with an exactly-once id, its last push there (seq) and how
 * far that push got: complete, or every key of it below next_key written.
 * A push that failed (an error, or a session cut off) before a later one
 * of its client was recorded stays recorded as unfinished, so that it is
 * not taken for applied when sent again; beyond one such, the entry only
 * says up to which push outcomes are in doubt.
 * They change in the WAL records that write the values, so that a record
 * and the values it speaks of survive a crash together.  The area exists
 * once pd_lower covers it (the first such push creates it); a metapage
 * without it has no records.
 */
typedef struct PsOnceEntry
{
	uint64		client;			/* 0: a free entry */
	uint64		seq;
	int64		next_key;		/* if not complete: keys below are written */
	uint32		complete;
	uint32		pad;
	uint64		stamp;			/* task timestamp of its last write */
	uint64		unfinished_seq; /* an earlier push that did not finish, 0: */
	int64		unfinished_next;	/* none; its keys below this are written */
	uint64		doubt_upto;		/* earlier pushes up to this whose outcome
								 * is not kept, 0: none */
} PsOnceEntry;

typedef struct PsOnceArea
{
	uint64		evictions;		/* entries taken over by other clients */
	uint32		nused;
	uint32		pad;
	PsOnceEntry entries[FLEXIBLE_ARRAY_MEMBER];
} PsOnceArea;

#define PS_ONCE_AREA_OFFSET MAXALIGN(sizeof(PsMetaData))
#define PS_ONCE_CAPACITY \
	((int) ((PS_PAGE_PAYLOAD - PS_ONCE_AREA_OFFSET - offsetof(PsOnceArea, entries)) / \
			sizeof(PsOnceEntry)))
#define PsPageGetOnce(page) \
	((PsOnceArea *) (PsPagePayload(page) + PS_ONCE_AREA_OFFSET))

/*
 * A change of the area, as WAL carries it and as it is made: the area's
 * header after the change, then nentries (slot, entry) after-images.
 */
typedef struct PsOnceChange
{
	uint16		init;			/* create the area first */
	uint16		nentries;
	uint32		nused;
	uint64		evictions;
} PsOnceChange;

typedef struct PsOnceSlot
{
	uint32		slot;
	uint32		pad;
	PsOnceEntry entry;
} PsOnceSlot;

/* One directory entry: the leaf whose interval starts at lo. */
typedef struct PsDirEntry
{
	int64		lo;
	BlockNumber blkno;
	uint32		pad;
} PsDirEntry;

#define PS_DIR_CAPACITY ((int) (PS_PAGE_PAYLOAD / sizeof(PsDirEntry)))
#define PsDirEntries(page) ((PsDirEntry *) PsPagePayload(page))

/* Leaf accessors (valid for the current representation only) */
#define PsLeafKeys(page) ((int64 *) PsPagePayload(page))
static inline float4 *
PsLeafVals(Page page)
{
	PsPageOpaque op = PsPageGetOpaque(page);

	if (PsLeafIsDense(op))
		return (float4 *) PsPagePayload(page);
	return (float4 *) (PsPagePayload(page) + sizeof(int64) * op->nitems);
}

static inline int64
PsLeafKeyAt(Page page, int slot)
{
	PsPageOpaque op = PsPageGetOpaque(page);

	if (PsLeafIsDense(op))
		return op->base + slot;
	return PsLeafKeys(page)[slot];
}

/*
 * Marker for "key not on this page" in slot arrays.  Slots are otherwise
 * 0 .. nitems-1.
 */
#define PS_SLOT_MISSING (-1)

/*
 * Scratch space for ps_leaf_set: merged keys (at most a dense leaf's worth,
 * which width 1 maximises), then merged records (at most one payload).
 */
#define PS_LEAF_SCRATCH_VALS MAXALIGN(sizeof(int64) * PsLeafDenseCapacity(1))
#define PS_LEAF_SCRATCH_SIZE (PS_LEAF_SCRATCH_VALS + PS_PAGE_PAYLOAD)

extern void ps_page_init_meta(Page page, uint32 dim, uint32 width);
extern void ps_page_init_leaf(Page page, int64 lo, int64 hi, uint16 width,
							  uint64 clock, BlockNumber next);
extern void ps_page_init_dir(Page page);
extern void ps_page_init_table(Page meta, Page leaf, Page dir, uint32 dim,
							   uint32 width);
extern void ps_dir_page_append(Page page, int pos, BlockNumber next,
							   const PsDirEntry *entry);

extern bool ps_leaf_fits(int nkeys, bool contiguous, int width);
extern int	ps_leaf_locate(Page page, const int64 *keys, int nkeys, int *slots);
extern int	ps_leaf_lower_bound(Page page, int64 key);
extern void ps_leaf_write_slots(Page page, const int *slots, int nkeys,
								const float4 *vals);
extern void ps_leaf_set(Page page, const int64 *keys, int nkeys,
						const float4 *vals, char *scratch);
extern void ps_leaf_truncate(Page page, int64 splitkey);
extern void ps_leaf_copy_from(Page dst, Page src, int from);
extern bool ps_leaf_check(Page page, char **why);

extern bool ps_once_area_valid(Page meta);
extern int	ps_once_find(Page meta, uint64 client);
extern Size ps_once_plan(Page meta, const PsOnceEntry *want, int n, char *out);
extern void ps_once_change(Page meta, const char *data, Size len);

#endif							/* PS_PAGE_H */
