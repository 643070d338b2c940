/**
 * OpenTelemetry resource attributes of the snapshot's entities.
 *
 * The resource model is the OpenTelemetry contrib PostgreSQL receiver's per-entity ("legacy")
 * model, so dashboards built on it keep working: the instance is one resource, and each database,
 * table and index is its own resource that repeats the instance's attributes and adds its names.
 *
 * | Entity | Attributes beyond the instance's |
 * | --- | --- |
 * | `pg-instance` | none |
 * | `pg-database` | `postgresql.database.name` |
 * | `pg-table` | `postgresql.database.name`, `postgresql.schema.name`, `postgresql.table.name` |
 * | `pg-index` | the table's, plus `postgresql.index.name` |
 * | `pgbouncer` | `pgbouncer.database.name` (own key); address, port and instance id are PgBouncer's |
 *
 * Every resource has `service.name` (configurable, default {@link DEFAULT_SERVICE_NAME}),
 * `service.instance.id`, `server.address` and `server.port` (an int); PostgreSQL resources also
 * have `db.system.name` = `postgresql`.
 *
 * `service.instance.id` is a UUID version 5 (RFC 9562, SHA-1 name-based) of the text
 * `<address>:<port>` in the namespace `4d63009a-8d0f-11ee-aad7-4c796ed8e320`, the namespace the
 * OpenTelemetry semantic conventions give for deriving `service.instance.id`. It depends only on
 * the configured address and port, so it is the same across restarts and on every host running
 * the collector for that server.
 *
 * @module
 */

import { createHash } from "node:crypto";
import type { BaseEntity, InstanceInfo } from "../core/model.ts";

/** An attribute value: a string, a boolean, an int (`bigint`) or a double (`number`). */
export type AttrValue = string | boolean | bigint | number;

/** Attributes by key. */
export type Attributes = Record<string, AttrValue>;

/** `service.name` when none is configured. */
export const DEFAULT_SERVICE_NAME = "pgquerylens";

/** Namespace UUID the semantic conventions give for `service.instance.id` (UUID v5). */
export const SERVICE_INSTANCE_NAMESPACE = "4d63009a-8d0f-11ee-aad7-4c796ed8e320";

/**
 * The UUID version 5 of `name` in `namespace` (RFC 9562 §5.5), lower-case with hyphens.
 *
 * @throws Error when `namespace` is not a UUID.
 */
export function uuidV5(namespace: string, name: string): string {
  const hex = namespace.replaceAll("-", "");
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error(`invalid namespace UUID "${namespace}"`);
  const ns = new Uint8Array(hex.match(/../g)!.map((b) => parseInt(b, 16)));
  const digest = createHash("sha1").update(ns).update(new TextEncoder().encode(name)).digest();
  const b = new Uint8Array(digest.subarray(0, 16));
  b[6] = (b[6] & 0x0f) | 0x50;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * The stable `service.instance.id` of the server at `address`:`port`.
 *
 * @throws Error when the address is empty or the port is not an integer in 1–65535.
 */
export function serviceInstanceId(address: string, port: string | number): string {
  return uuidV5(SERVICE_INSTANCE_NAMESPACE, `${checkAddress(address)}:${checkPort(port)}`);
}

function checkAddress(address: string): string {
  if (address.trim() === "") throw new Error("server address must not be empty");
  return address;
}

function checkPort(port: string | number): number {
  const n = typeof port === "number" ? port : /^\d+$/.test(port.trim()) ? Number(port) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new Error(`invalid server port ${JSON.stringify(port)}: expected an integer from 1 to 65535`);
  }
  return n;
}

/** Options of the resource functions. */
export interface ResourceOptions {
  /** `service.name`; {@link DEFAULT_SERVICE_NAME} when absent. */
  serviceName?: string;
  /**
   * Extra attributes of every resource (OTEL_RESOURCE_ATTRIBUTES); the collector's own keys
   * (service, server, database identity) take precedence over them.
   */
  resourceAttributes?: Readonly<Record<string, string>>;
}

function serverAttributes(address: string, port: string | number, opts: ResourceOptions): Attributes {
  const p = checkPort(port);
  return {
    ...opts.resourceAttributes,
    "service.name": opts.serviceName ?? DEFAULT_SERVICE_NAME,
    "service.instance.id": serviceInstanceId(address, p),
    "server.address": address,
    "server.port": BigInt(p),
  };
}

/**
 * The resource attributes of the PostgreSQL instance `instance`.
 *
 * @throws Error when its host is empty or its port is not a valid port.
 */
export function instanceResource(instance: InstanceInfo, opts: ResourceOptions = {}): Attributes {
  return {
    ...serverAttributes(checkAddress(instance.host), instance.port, opts),
    "db.system.name": "postgresql",
  };
}

function idAttribute(entity: BaseEntity, key: string): string {
  const found = entity.idAttributes.find((a) => a.key === key);
  if (found === undefined || found.value === "") {
    throw new Error(`${entity.type} entity "${entity.name}" has no "${key}" identity attribute`);
  }
  return found.value;
}

/**
 * The resource attributes of base entity `entity` of `instance` (see the module table).
 *
 * @throws Error when the entity type is unknown or the entity lacks an identity attribute its
 * level needs (for example a `pg-table` without `pg-database`).
 */
export function entityResource(
  entity: BaseEntity,
  instance: InstanceInfo,
  opts: ResourceOptions = {},
): Attributes {
  switch (entity.type) {
    case "pg-instance":
      return instanceResource(instance, opts);
    case "pg-database":
      return { ...instanceResource(instance, opts), "postgresql.database.name": entity.name };
    case "pg-table":
      return {
        ...instanceResource(instance, opts),
        "postgresql.database.name": idAttribute(entity, "pg-database"),
        "postgresql.schema.name": idAttribute(entity, "pg-schema"),
        "postgresql.table.name": entity.name,
      };
    case "pg-index":
      return {
        ...instanceResource(instance, opts),
        "postgresql.database.name": idAttribute(entity, "pg-database"),
        "postgresql.schema.name": idAttribute(entity, "pg-schema"),
        "postgresql.table.name": idAttribute(entity, "pg-table"),
        "postgresql.index.name": entity.name,
      };
    case "pgbouncer":
      return {
        ...serverAttributes(checkAddress(idAttribute(entity, "host")), idAttribute(entity, "port"), opts),
        "pgbouncer.database.name": entity.name,
      };
    default:
      throw new Error(
        `unknown entity type "${entity.type}" of entity "${entity.name}" ` +
          `(expected pg-instance, pg-database, pg-table, pg-index or pgbouncer)`,
      );
  }
}

/** A canonical text of `attrs` (keys sorted, ints marked), usable as a map key. */
export function attributesKey(attrs: Attributes): string {
  return JSON.stringify(
    Object.keys(attrs).sort().map((k) => {
      const v = attrs[k];
      return [k, typeof v === "bigint" ? `${v}n` : v];
    }),
  );
}
