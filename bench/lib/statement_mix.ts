/**
 * A synthetic application workload with many distinct statements, for filling pg_stat_statements.
 *
 * pg_stat_statements normalizes constants away, so distinct entries need distinct statement
 * structure. The mix crosses {@link MIX_TABLES}-style tables (same columns, different relations),
 * four statement shapes (list, aggregate, join, update) and a subset of eight columns per
 * statement (projected expressions, aggregates or SET targets): every (table, shape, subset) is a
 * different query id. Texts look like ORM output with a request-tag comment and run from about a
 * hundred to several hundred characters.
 *
 * @module
 */

/** One column of the bench tables with the expressions the shapes use for it. */
interface Column {
  name: string;
  type: string;
  /** SQL filling it from `g` (the row number in generate_series). */
  fill: string;
  /** Projected expression over alias `t`, with an output name. */
  project: string;
  /** Aggregate over alias `t`, with an output name. */
  aggregate: string;
}

const COLUMNS: readonly Column[] = [
  {
    name: "quantity",
    type: "int",
    fill: "g % 17",
    project: "coalesce(t.quantity, 0) AS quantity_or_zero",
    aggregate: "sum(t.quantity) AS total_quantity",
  },
  {
    name: "unit_price",
    type: "numeric(12,2)",
    fill: "(g % 500) / 4.0",
    project: "round(t.unit_price * (1 - coalesce(t.discount_rate, 0)), 2) AS net_unit_price",
    aggregate: "avg(t.unit_price) AS average_unit_price",
  },
  {
    name: "status",
    type: "text",
    fill: "(ARRAY['open','paid','shipped','archived'])[g % 4 + 1]",
    project: "upper(t.status) AS status_code",
    aggregate: "count(DISTINCT t.status) AS distinct_statuses",
  },
  {
    name: "created_at",
    type: "timestamptz",
    fill: "now() - (g || ' hours')::interval",
    project: "date_trunc('day', t.created_at) AS created_day",
    aggregate: "max(t.created_at) AS latest_created_at",
  },
  {
    name: "is_flagged",
    type: "boolean",
    fill: "g % 7 = 0",
    project: "CASE WHEN t.is_flagged THEN 'flagged' ELSE 'clear' END AS review_state",
    aggregate: "count(*) FILTER (WHERE t.is_flagged) AS flagged_rows",
  },
  {
    name: "customer_note",
    type: "text",
    fill: "'note for row ' || g",
    project: "left(t.customer_note, 40) AS note_excerpt",
    aggregate: "max(length(t.customer_note)) AS longest_note",
  },
  {
    name: "region_id",
    type: "int",
    fill: "g % 9",
    project: "t.region_id AS region_id",
    aggregate: "count(DISTINCT t.region_id) AS regions",
  },
  {
    name: "discount_rate",
    type: "numeric(4,3)",
    fill: "(g % 30) / 100.0",
    project: "coalesce(t.discount_rate, 0.0) AS discount_rate",
    aggregate: "min(t.discount_rate) AS smallest_discount",
  },
];

const DOMAINS = ["orders", "invoices", "shipments", "payments", "tickets", "refunds", "carts", "returns"];

/** Number of statement shapes. */
export const SHAPES = 4;

/** Number of distinct non-empty column subsets. */
const SUBSETS = (1 << COLUMNS.length) - 1;

/** Name of bench table `i` (0-based), e.g. `app_orders_003`. */
export function tableName(i: number): string {
  return `app_${DOMAINS[i % DOMAINS.length]}_${String(Math.floor(i / DOMAINS.length)).padStart(3, "0")}`;
}

function checkCount(what: string, n: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new Error(`statement mix: ${what} must be an integer between 1 and ${max}, got ${n}`);
  }
}

/** DDL and data for `tables` bench tables of `rows` rows each, ending with ANALYZE. */
export function mixSchemaSql(tables: number, rows: number): string {
  checkCount("tables", tables, 9999);
  checkCount("rows", rows);
  const parts: string[] = [];
  for (let i = 0; i < tables; i++) {
    const name = tableName(i);
    parts.push(
      `CREATE TABLE ${name} (id bigint PRIMARY KEY, ${COLUMNS.map((c) => `${c.name} ${c.type}`).join(", ")})`,
      `INSERT INTO ${name} SELECT g, ${
        COLUMNS.map((c) => c.fill).join(", ")
      } FROM generate_series(1, ${rows}) g`,
    );
  }
  parts.push("ANALYZE");
  return parts.join(";\n") + ";";
}

/** One distinct statement of the mix. */
export interface MixStatement {
  /** Identity of its structure: `table/shape/subset`; distinct keys are distinct query ids. */
  key: string;
  /** The statement text for execution number `call` (only constants change with it). */
  text(call: number): string;
}

/** The largest statement count {@link mixStatements} can make for `tables` tables. */
export function mixCapacity(tables: number): number {
  return tables * SHAPES * SUBSETS;
}

/**
 * `count` distinct statements over `tables` bench tables, spread evenly over tables and shapes.
 *
 * @throws Error when count exceeds {@link mixCapacity} or either number is not a positive integer.
 */
export function mixStatements(count: number, tables: number): MixStatement[] {
  checkCount("tables", tables, 9999);
  checkCount("count", count, mixCapacity(tables));
  const out: MixStatement[] = [];
  for (let s = 0; s < count; s++) {
    const table = s % tables;
    const rest = Math.floor(s / tables);
    const shape = rest % SHAPES;
    // 97 is prime to 255, so this visits every subset once, mixing small and large ones.
    const subset = ((Math.floor(rest / SHAPES) * 97) % SUBSETS) + 1;
    const columns = COLUMNS.filter((_, bit) => (subset & (1 << bit)) !== 0);
    out.push({
      key: `${table}/${shape}/${subset}`,
      text: statementText(s, tableName(table), tableName((table + 1) % tables), shape, columns),
    });
  }
  return out;
}

function statementText(
  s: number,
  table: string,
  other: string,
  shape: number,
  columns: Column[],
): (call: number) => string {
  const tag = `/* app=${table.split("_")[1]}-service route=/api/v2/${table}/${shape} */`;
  const k = (call: number) => ((s * 7 + call * 13) % 150) + 1;
  switch (shape) {
    case 0:
      return (call) =>
        `${tag} SELECT t.id, ${columns.map((c) => c.project).join(", ")} FROM ${table} t ` +
        `WHERE t.id > ${k(call)} AND t.status <> 'archived' ORDER BY t.created_at DESC, t.id LIMIT 25`;
    case 1:
      return (call) =>
        `${tag} SELECT t.region_id AS region, count(*) AS rows_in_region, ` +
        `${columns.map((c) => c.aggregate).join(", ")} FROM ${table} t ` +
        `WHERE t.created_at > now() - interval '${k(call)} hours' GROUP BY t.region_id ORDER BY 2 DESC`;
    case 2:
      return (call) =>
        `${tag} SELECT t.id, ${columns.map((c) => c.project).join(", ")}, o.status AS related_status ` +
        `FROM ${table} t JOIN ${other} o ON o.id = t.id + ${k(call)} ` +
        `WHERE t.quantity > ${k(call) % 10} ORDER BY t.id LIMIT 50`;
    default:
      return (call) =>
        `${tag} UPDATE ${table} SET ${columns.map((c) => `${c.name} = ${c.name}`).join(", ")} ` +
        `WHERE id = ${k(call)}`;
  }
}
