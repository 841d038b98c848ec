// The storefront API from TypeScript, with the generated SDK (gen/typescript):
//
//   1. list products (public) and print their names and the pagination,
//   2. create an order with an API key and an Idempotency-Key, then repeat it with the same
//      key to show the replay,
//   3. send an invalid order on purpose and print every violation the 422 reports.
//
// Run it against a gateway (`make run` starts one on 127.0.0.1:8080):
//
//   cd sdk/typescript && npm ci
//   npx tsx examples/storefront.ts --base-url http://127.0.0.1:8080 --api-key demo-key-alice-0123456789abcdef
//
// or with STOREFRONT_BASE_URL and STOREFRONT_API_KEY in the environment. (Not CONTRACTGATE_*:
// the gateway refuses to start on an unknown variable with its own prefix.)
//
// Exit status: 0 when every step answered as the contract says, 1 otherwise, 2 on bad usage.

import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";

import {
  createClient,
  type CreateOrderRequest,
  type ErrorEnvelope,
  type Meta,
  type Product,
} from "../../../gen/typescript/index.js";

class Unexpected extends Error {}

function expect(cond: unknown, what: string): asserts cond {
  if (!cond) throw new Unexpected(what);
}

/** One line for an error envelope: status, code, message and the request id to quote. */
function describe(status: number, env: ErrorEnvelope | undefined): string {
  if (!env) return `HTTP ${status} without an envelope`;
  return `HTTP ${status} ${env.error.code}: ${env.error.message} (requestId ${env.meta.requestId})`;
}

/** meta.requestId must equal the X-Request-Id header of the same response. */
function checkRequestId(res: Response, meta: Meta): void {
  const header = res.headers.get("X-Request-Id");
  expect(header === meta.requestId, `X-Request-Id ${header} != meta.requestId ${meta.requestId}`);
}

function dollars(cents: number): string {
  return `$${(cents / 100).toFixed(2)}`;
}

function usage(msg: string): never {
  console.error(`storefront: ${msg}`);
  console.error("usage: storefront.ts [--base-url URL] [--api-key KEY]");
  console.error("       (or STOREFRONT_BASE_URL, STOREFRONT_API_KEY; base URL defaults to http://127.0.0.1:8080)");
  process.exit(2);
}

async function main(): Promise<void> {
  let values: { "base-url"?: string; "api-key"?: string };
  try {
    ({ values } = parseArgs({
      options: { "base-url": { type: "string" }, "api-key": { type: "string" } },
      strict: true,
    }));
  } catch (err) {
    usage(err instanceof Error ? err.message : String(err));
  }
  const baseUrl = values["base-url"] ?? process.env.STOREFRONT_BASE_URL ?? "http://127.0.0.1:8080";
  const apiKey = values["api-key"] ?? process.env.STOREFRONT_API_KEY;
  if (!apiKey) usage("an API key is required (--api-key or STOREFRONT_API_KEY)");

  // X-API-Key on every request; `Authorization: Bearer <jwt>` works the same way.
  const client = createClient({ baseUrl, headers: { "X-API-Key": apiKey } });

  // 1. Products, first page of five.
  const products = await client.GET("/v1/products", { params: { query: { page: 1, pageSize: 5 } } });
  if (products.error) throw new Unexpected(`list products: ${describe(products.response.status, products.error)}`);
  const page = products.data;
  checkRequestId(products.response, page.meta);
  const p = page.meta.pagination;
  expect(p, "a list answered without meta.pagination");
  console.log(
    `products: page ${p.page} of ${p.totalPages}, ${page.data.length} of ${p.totalItems} items, ` +
      `hasNext=${p.hasNext} hasPrevious=${p.hasPrevious}`,
  );
  for (const product of page.data) {
    console.log(`  ${product.id}  ${product.name}  ${dollars(product.priceCents)}${product.inStock ? "" : "  (out of stock)"}`);
  }
  const item: Product | undefined = page.data.find((x) => x.inStock);
  expect(item, "no product in stock on the first page");

  // 2. An order, with an idempotency key: a retry with the same key and body (after a
  //    timeout, say) replays the first answer instead of ordering twice.
  const order: CreateOrderRequest = {
    items: [{ productId: item.id, quantity: 2 }],
    currency: "USD",
    note: "From the TypeScript SDK example.",
    payment: { method: "card", cardToken: "tok_visa_4242" },
  };
  const key = randomUUID();
  const created = await client.POST("/v1/orders", {
    params: { header: { "Idempotency-Key": key } },
    body: order,
  });
  if (created.error) throw new Unexpected(`create order: ${describe(created.response.status, created.error)}`);
  expect(created.response.status === 201, `create order: HTTP ${created.response.status}, want 201`);
  checkRequestId(created.response, created.data.meta);
  const o = created.data.data;
  expect(o.items.length === 1 && o.items[0]?.quantity === 2, "the order's items differ from the request");
  console.log(`order created: ${o.id} status=${o.status} total=${dollars(o.totalCents)} items=${o.items.length}`);

  const again = await client.POST("/v1/orders", {
    params: { header: { "Idempotency-Key": key } },
    body: order,
  });
  if (again.error) throw new Unexpected(`repeat order: ${describe(again.response.status, again.error)}`);
  const replayed = again.response.headers.get("Idempotent-Replayed");
  expect(replayed === "true", `repeat order: Idempotent-Replayed=${replayed}, want true`);
  expect(again.data.data.id === o.id, `repeat order: got order ${again.data.data.id}, want ${o.id}`);
  checkRequestId(again.response, again.data.meta);
  console.log(`order replayed: ${again.data.data.id} (Idempotent-Replayed: ${replayed})`);

  // 3. An invalid order, on purpose. It type-checks (the types carry shapes, not every
  //    constraint); the gateway validates it against the contract and answers 422 with
  //    every violation in error.details.
  const invalid: CreateOrderRequest = {
    items: [{ productId: "not-a-product", quantity: 500 }],
    payment: { method: "card", cardToken: "visa" },
  };
  const rejected = await client.POST("/v1/orders", {
    params: { header: { "Idempotency-Key": randomUUID() } },
    body: invalid,
  });
  if (!rejected.error) throw new Unexpected(`invalid order: HTTP ${rejected.response.status}, want 422`);
  const status = rejected.response.status;
  const env: ErrorEnvelope = rejected.error;
  switch (env.error.code) {
    case "VALIDATION_FAILED": {
      expect(status === 422, `invalid order: ${describe(status, env)}, want 422`);
      checkRequestId(rejected.response, env.meta);
      const details = env.error.details ?? [];
      expect(details.length > 0, "invalid order: 422 without error.details");
      console.log(`invalid order rejected: ${status} ${env.error.code} (${details.length} violations)`);
      for (const d of details) {
        const received = d.received === undefined ? "" : `  received=${JSON.stringify(d.received)}`;
        console.log(`  ${d.field}  ${d.constraint}  ${d.message}${received}`);
      }
      break;
    }
    case "RATE_LIMIT_EXCEEDED":
      throw new Unexpected(`invalid order: throttled, retry after ${rejected.response.headers.get("Retry-After")}s`);
    default:
      throw new Unexpected(`invalid order: ${describe(status, env)}, want 422 VALIDATION_FAILED`);
  }

  console.log("storefront example: ok");
}

main().catch((err: unknown) => {
  if (err instanceof Unexpected) {
    console.error(`storefront example: unexpected: ${err.message}`);
  } else {
    // A network failure (gateway not running, wrong URL) lands here.
    const cause = err instanceof Error && err.cause instanceof Error ? ` (${err.cause.message})` : "";
    console.error(`storefront example: ${err instanceof Error ? err.message : String(err)}${cause}`);
  }
  process.exit(1);
});
