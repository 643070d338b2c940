/*-------------------------------------------------------------------------
 *
 * planid.c
 *		A 64-bit id of a plan's shape.
 *
 * Two executions get the same planid when their plans have the same shape
 * (what EXPLAIN (COSTS OFF) shows, less quals, sort keys and output
 * lists, which are not hashed): the walk hashes, for every node of the plan tree, its
 * node tag, its parallel_aware flag, the number of its init plans, and what
 * identifies it for the reader of a plan: the scanned relation's OID (from
 * scanrelid through the range table) or, for function scans, the OIDs of
 * the functions, the index OID and scan direction of index scans, the join
 * type, the aggregate strategy and split, the set operation and its
 * strategy, the operation and target relation of ModifyTable.  Children
 * are visited in order (outer, inner, then the member lists of Append,
 * MergeAppend, BitmapAnd/Or, SubqueryScan and CustomScan), with markers for
 * absent children and list lengths, so the same nodes in another
 * arrangement give another id.  The subplans of the statement (SubPlans
 * and init plans referenced from expressions) follow the main tree.
 *
 * Costs, row estimates, constants and parameter values are never hashed,
 * so re-planning with other parameter values or costs keeps the id as long
 * as the shape stays.  OIDs make the id specific to one cluster, exactly
 * like core's query id.
 *
 * The walk stops after max_nodes nodes (pg_querylens.max_plan_nodes) and
 * reports that through *truncated; it costs a few nanoseconds per node.
 * The mixing function is MurmurHash3's 64-bit block step and finalizer.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "nodes/pg_list.h"
#include "nodes/plannodes.h"
#include "parser/parsetree.h"

#include "compat.h"
#include "querylens.h"

typedef struct QlPlanHash
{
	uint64		h;
	int			nodes;
	int			max_nodes;
	bool		truncated;
	List	   *rtable;
} QlPlanHash;

static inline uint64
ql_rotl64(uint64 x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static inline void
ql_mix(QlPlanHash *ph, uint64 v)
{
	uint64		k = v * UINT64CONST(0x87c37b91114253d5);

	k = ql_rotl64(k, 31);
	k *= UINT64CONST(0x4cf5ad432745937f);
	ph->h ^= k;
	ph->h = ql_rotl64(ph->h, 27) * 5 + 0x52dce729;
}

static inline uint64
ql_fmix64(uint64 k)
{
	k ^= k >> 33;
	k *= UINT64CONST(0xff51afd7ed558ccd);
	k ^= k >> 33;
	k *= UINT64CONST(0xc4ceb9fe1a85ec53);
	k ^= k >> 33;
	return k;
}

/* Markers that keep the structure apart from the values */
#define QL_MARK_NULL	UINT64CONST(0x6e756c6c)
#define QL_MARK_LIST	UINT64CONST(0x6c697374)
#define QL_MARK_SUBPLANS UINT64CONST(0x73756270)

static void ql_walk(QlPlanHash *ph, Plan *plan);

/* Hashes a range-table entry by relation OID, or by kind when not a relation */
static void
ql_mix_rte(QlPlanHash *ph, Index rti)
{
	if (rti > 0 && rti <= (Index) list_length(ph->rtable))
	{
		RangeTblEntry *rte = rt_fetch(rti, ph->rtable);

		ql_mix(ph, (uint64) rte->rtekind);
		if (rte->rtekind == RTE_RELATION)
			ql_mix(ph, (uint64) rte->relid);
		else if (rte->rtekind == RTE_FUNCTION)
		{
			ListCell   *lc;

			/* EXPLAIN names the function scanned; set-returning functions are FuncExprs */
			foreach(lc, rte->functions)
			{
				Node	   *expr = ((RangeTblFunction *) lfirst(lc))->funcexpr;

				ql_mix(ph, (expr != NULL && IsA(expr, FuncExpr)) ?
					   (uint64) ((FuncExpr *) expr)->funcid : QL_MARK_NULL);
			}
		}
	}
	else
		ql_mix(ph, QL_MARK_NULL);
}

static void
ql_walk_list(QlPlanHash *ph, List *plans)
{
	ListCell   *lc;

	ql_mix(ph, QL_MARK_LIST ^ (uint64) list_length(plans));
	foreach(lc, plans)
		ql_walk(ph, (Plan *) lfirst(lc));
}

static void
ql_walk(QlPlanHash *ph, Plan *plan)
{
	if (plan == NULL)
	{
		ql_mix(ph, QL_MARK_NULL);
		return;
	}
	if (ph->nodes >= ph->max_nodes)
	{
		ph->truncated = true;
		return;
	}
	ph->nodes++;
	ql_mix(ph, (uint64) nodeTag(plan));
	ql_mix(ph, (uint64) plan->parallel_aware);
	ql_mix(ph, (uint64) list_length(plan->initPlan));

	switch (nodeTag(plan))
	{
		case T_SeqScan:
		case T_SampleScan:
		case T_BitmapHeapScan:
		case T_TidScan:
#ifdef QL_HAVE_TID_RANGE_SCAN
		case T_TidRangeScan:
#endif
		case T_FunctionScan:
		case T_ValuesScan:
		case T_TableFuncScan:
		case T_CteScan:
		case T_NamedTuplestoreScan:
		case T_WorkTableScan:
		case T_ForeignScan:
			ql_mix_rte(ph, ((Scan *) plan)->scanrelid);
			break;
		case T_IndexScan:
			ql_mix_rte(ph, ((Scan *) plan)->scanrelid);
			ql_mix(ph, (uint64) ((IndexScan *) plan)->indexid);
			ql_mix(ph, (uint64) (((IndexScan *) plan)->indexorderdir + 2));
			break;
		case T_IndexOnlyScan:
			ql_mix_rte(ph, ((Scan *) plan)->scanrelid);
			ql_mix(ph, (uint64) ((IndexOnlyScan *) plan)->indexid);
			ql_mix(ph, (uint64) (((IndexOnlyScan *) plan)->indexorderdir + 2));
			break;
		case T_BitmapIndexScan:
			ql_mix_rte(ph, ((Scan *) plan)->scanrelid);
			ql_mix(ph, (uint64) ((BitmapIndexScan *) plan)->indexid);
			break;
		case T_SubqueryScan:
			ql_mix_rte(ph, ((Scan *) plan)->scanrelid);
			ql_walk(ph, ((SubqueryScan *) plan)->subplan);
			break;
		case T_CustomScan:
			ql_mix_rte(ph, ((Scan *) plan)->scanrelid);
			ql_walk_list(ph, ((CustomScan *) plan)->custom_plans);
			break;
		case T_NestLoop:
		case T_MergeJoin:
		case T_HashJoin:
			ql_mix(ph, (uint64) ((Join *) plan)->jointype);
			break;
		case T_Agg:
			ql_mix(ph, (uint64) ((Agg *) plan)->aggstrategy);
			ql_mix(ph, (uint64) ((Agg *) plan)->aggsplit);
			break;
		case T_SetOp:
			ql_mix(ph, (uint64) ((SetOp *) plan)->cmd);
			ql_mix(ph, (uint64) ((SetOp *) plan)->strategy);
			break;
		case T_ModifyTable:
			ql_mix(ph, (uint64) ((ModifyTable *) plan)->operation);
			ql_mix_rte(ph, ((ModifyTable *) plan)->nominalRelation);
			break;
		case T_Append:
			ql_walk_list(ph, ((Append *) plan)->appendplans);
			break;
		case T_MergeAppend:
			ql_walk_list(ph, ((MergeAppend *) plan)->mergeplans);
			break;
		case T_BitmapAnd:
			ql_walk_list(ph, ((BitmapAnd *) plan)->bitmapplans);
			break;
		case T_BitmapOr:
			ql_walk_list(ph, ((BitmapOr *) plan)->bitmapplans);
			break;
		default:
			/* the node tag says everything EXPLAIN shows without costs */
			break;
	}

	ql_walk(ph, plan->lefttree);
	ql_walk(ph, plan->righttree);
}

/*
 * The plan id of a statement: never 0 (0 means "none" in records).
 */
uint64
ql_compute_planid(PlannedStmt *stmt, int max_nodes, bool *truncated)
{
	QlPlanHash	ph;
	uint64		id;

	ph.h = UINT64CONST(0x9e3779b97f4a7c15);
	ph.nodes = 0;
	ph.max_nodes = max_nodes;
	ph.truncated = false;
	ph.rtable = stmt->rtable;

	ql_mix(&ph, (uint64) stmt->commandType);
	ql_walk(&ph, stmt->planTree);
	if (stmt->subplans != NIL)
	{
		ql_mix(&ph, QL_MARK_SUBPLANS);
		ql_walk_list(&ph, stmt->subplans);
	}

	id = ql_fmix64(ph.h ^ (uint64) ph.nodes);
	*truncated = ph.truncated;
	return id != 0 ? id : 1;
}
