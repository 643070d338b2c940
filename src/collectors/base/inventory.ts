/**
 * Inventory of the instance: every `pg_settings` row as three items, `<name>/setting`,
 * `<name>/boot_val` and `<name>/reset_val`, each holding the column's text (or null for SQL NULL,
 * e.g. `config_file/boot_val`), as nri-postgresql publishes them on the `pg-instance` entity.
 *
 * The infrastructure SDK refuses inventory keys longer than {@link MAX_INVENTORY_KEY_LENGTH}
 * bytes; such keys are left out and reported once, with their count.
 *
 * @module
 */

import type { CollectionIssue } from "../../core/model.ts";
import type { Sql } from "../../query_engine/connection.ts";
import { MARKER } from "../../query_engine/marker.ts";

/** Longest inventory key the SDK accepts, in bytes of its UTF-8 encoding. */
export const MAX_INVENTORY_KEY_LENGTH = 375;

/** The statement reading the settings (one row per setting, in name order). */
export const INVENTORY_SQL =
  `${MARKER} SELECT name, setting, boot_val, reset_val FROM pg_catalog.pg_settings ORDER BY name`;

/** Columns published per setting, in publish order; each becomes the key `<name>/<column>`. */
export const INVENTORY_COLUMNS = ["setting", "boot_val", "reset_val"] as const;

const encoder = new TextEncoder();

/**
 * Turns `pg_settings` rows (`name`, `setting`, `boot_val`, `reset_val`) into inventory items, key `<name>/<column>` to value, in row order.
 * Keys longer than {@link MAX_INVENTORY_KEY_LENGTH} bytes are skipped; when any is, `report`
 * receives one warning naming how many and the first one. A row without a name is an error.
 */
export function settingsInventory(
  rows: Iterable<Readonly<Record<string, unknown>>>,
  report: (issue: CollectionIssue) => void = () => {},
): Map<string, string | null> {
  const items = new Map<string, string | null>();
  const skipped: string[] = [];
  for (const row of rows) {
    const name = row.name;
    if (typeof name !== "string" || name === "") {
      throw new TypeError(`pg_settings row without a setting name: ${JSON.stringify(row)}`);
    }
    for (const column of INVENTORY_COLUMNS) {
      const key = `${name}/${column}`;
      if (encoder.encode(key).length > MAX_INVENTORY_KEY_LENGTH) {
        skipped.push(key);
        continue;
      }
      const value = row[column];
      items.set(key, value === null || value === undefined ? null : String(value));
    }
  }
  if (skipped.length > 0) {
    report({
      component: "inventory",
      cause: "inventory.key_too_long",
      message: `inventory: left out ${skipped.length} item(s) whose key is longer than ` +
        `${MAX_INVENTORY_KEY_LENGTH} bytes (the SDK limit), e.g. "${skipped[0].slice(0, 80)}…"`,
      severity: "warning",
    });
  }
  return items;
}

/**
 * Reads `pg_settings` through `sql` and returns its inventory items (see {@link settingsInventory}),
 * in setting-name order. A failing query rejects; the caller reports it, as for any collector.
 */
export async function collectInventory(
  sql: Sql,
  report: (issue: CollectionIssue) => void = () => {},
): Promise<Map<string, string | null>> {
  return settingsInventory(await sql.unsafe(INVENTORY_SQL), report);
}
