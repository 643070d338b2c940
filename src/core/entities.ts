/**
 * The entities of the base integration and the naming attributes of their samples.
 *
 * | Kind | Name | Identity attributes | `entityName` |
 * | --- | --- | --- | --- |
 * | `pg-instance` | `<host>:<port>` | none | `pg-instance:<host>:<port>` |
 * | `pg-database` | database | host, port | `database:<db>` |
 * | `pg-table` | table | host, pg-database, pg-schema, port | `table:<table>` |
 * | `pg-index` | index | host, pg-database, pg-schema, pg-table, port | `index:<index>` |
 * | `pgbouncer` | PgBouncer database | host, port | `pgbouncer:<db>` |
 *
 * `displayName` is the entity name for every kind. Identity attributes are kept sorted by key.
 *
 * @module
 */

import type { BaseEntity, RawMetric } from "./model.ts";

/** Entity types of the base integration. */
export type BaseEntityType = "pg-instance" | "pg-database" | "pg-table" | "pg-index" | "pgbouncer";

/** Prefix of `entityName` per entity type. */
const ENTITY_NAME_PREFIX: Record<BaseEntityType, string> = {
  "pg-instance": "pg-instance",
  "pg-database": "database",
  "pg-table": "table",
  "pg-index": "index",
  "pgbouncer": "pgbouncer",
};

function required(what: string, value: string | number): string {
  const text = String(value);
  if (text.trim() === "") throw new Error(`${what} must not be empty`);
  return text;
}

function entity(type: BaseEntityType, name: string, ids: Record<string, string>): BaseEntity {
  const idAttributes = Object.keys(ids).sort().map((key) => ({ key, value: ids[key] }));
  return { name, type, idAttributes };
}

/**
 * The instance entity `<host>:<port>` (type `pg-instance`, no identity attributes).
 *
 * @throws Error when host or port is empty.
 */
export function instanceEntity(host: string, port: string | number): BaseEntity {
  return entity("pg-instance", `${required("host", host)}:${required("port", port)}`, {});
}

/**
 * The entity of database `database` (type `pg-database`, identified by host and port).
 *
 * @throws Error when an argument is empty.
 */
export function databaseEntity(host: string, port: string | number, database: string): BaseEntity {
  return entity("pg-database", required("database name", database), {
    host: required("host", host),
    port: required("port", port),
  });
}

/**
 * The entity of table `schema.table` in `database` (type `pg-table`).
 *
 * @throws Error when an argument is empty.
 */
export function tableEntity(
  host: string,
  port: string | number,
  database: string,
  schema: string,
  table: string,
): BaseEntity {
  return entity("pg-table", required("table name", table), {
    host: required("host", host),
    port: required("port", port),
    "pg-database": required("database name", database),
    "pg-schema": required("schema name", schema),
  });
}

/**
 * The entity of index `index` of table `schema.table` in `database` (type `pg-index`).
 *
 * @throws Error when an argument is empty.
 */
export function indexEntity(
  host: string,
  port: string | number,
  database: string,
  schema: string,
  table: string,
  index: string,
): BaseEntity {
  return entity("pg-index", required("index name", index), {
    host: required("host", host),
    port: required("port", port),
    "pg-database": required("database name", database),
    "pg-schema": required("schema name", schema),
    "pg-table": required("table name", table),
  });
}

/**
 * The entity of PgBouncer database `name` (type `pgbouncer`, identified by host and port).
 *
 * @throws Error when an argument is empty.
 */
export function pgbouncerEntity(host: string, port: string | number, name: string): BaseEntity {
  return entity("pgbouncer", required("PgBouncer database name", name), {
    host: required("host", host),
    port: required("port", port),
  });
}

/** Whether `type` is one of the base integration's entity types. */
export function isBaseEntityType(type: string): type is BaseEntityType {
  return Object.hasOwn(ENTITY_NAME_PREFIX, type);
}

/**
 * The `entityName` attribute value of `e`: `<prefix>:<name>` with the prefix of its kind.
 *
 * @throws Error when the entity type is not a base entity type.
 */
export function entityNameOf(e: BaseEntity): string {
  if (!isBaseEntityType(e.type)) {
    throw new Error(
      `unknown entity type "${e.type}" (expected ${Object.keys(ENTITY_NAME_PREFIX).join(", ")})`,
    );
  }
  return `${ENTITY_NAME_PREFIX[e.type]}:${e.name}`;
}

/** The `displayName` attribute value of `e`: its name. */
export function displayNameOf(e: BaseEntity): string {
  return e.name;
}

/**
 * The naming attributes every base sample of `e` starts with: `displayName`, then `entityName`.
 *
 * @throws Error when the entity type is not a base entity type.
 */
export function namingAttributes(e: BaseEntity): RawMetric[] {
  return [
    { name: "displayName", sourceType: "attribute", value: displayNameOf(e) },
    { name: "entityName", sourceType: "attribute", value: entityNameOf(e) },
  ];
}

/** The SDK entity key (rate namespace); see `src/core/entity_key.ts`. */
export { entityKey } from "./entity_key.ts";
