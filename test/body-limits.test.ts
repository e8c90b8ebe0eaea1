import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiBodyLimitBytes } from "../src/kit/body-limit.js";
import { createTestApp, type SignedUp, type TestApp } from "./support/app.js";

let test: TestApp;
let person: SignedUp;
beforeAll(async () => {
  test = await createTestApp();
  person = await test.signUp();
});
afterAll(() => test.close());

const totalBytes = 8 * 1024 * 1024;

/** A JSON-looking body of `totalBytes`, made as it is read, that counts how much the server pulled. */
function countedStream() {
  let pulledBytes = 0;
  const chunk = new TextEncoder().encode("x".repeat(64 * 1024));
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode('{"amountCents":300,"padding":"'));
    },
    pull(controller) {
      if (pulledBytes >= totalBytes) return controller.close();
      pulledBytes += chunk.byteLength;
      controller.enqueue(chunk);
    },
  });
  return { body, pulledBytes: () => pulledBytes };
}

function post(path: string, body: BodyInit, headers: Record<string, string> = {}) {
  return test.app.request(path, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      origin: new URL(test.config.appUrl).origin,
      cookie: person.cookie,
      ...headers,
    },
    body,
    duplex: "half",
  } as RequestInit);
}

describe("one body limit for the /api JSON routes", () => {
  it.each([
    "/api/checkout",
    "/api/checkout/confirm",
    "/api/admin/accounts/someone/adjustments",
    "/api/auth/sign-in/email",
  ])("refuses a streamed body without Content-Length on %s before buffering it", async (path) => {
    const stream = countedStream();
    const response = await post(path, stream.body);
    expect(response.status).toBe(413);
    const { error } = await response.json();
    expect(error.code).toBe("PAYLOAD_TOO_LARGE");
    expect(error.message).toMatch(/KiB/);
    // Refused once the limit was passed, not after reading all 8 MiB into memory.
    expect(stream.pulledBytes()).toBeLessThan(1024 * 1024);
  });

  it("refuses a declared Content-Length over the limit without reading the body", async () => {
    const response = await post("/api/checkout", "x".repeat(apiBodyLimitBytes + 1));
    expect(response.status).toBe(413);
    expect((await response.json()).error.code).toBe("PAYLOAD_TOO_LARGE");
  });

  it("leaves a body within the limit to the route, which reads it as before", async () => {
    const padding = "x".repeat(apiBodyLimitBytes - 200);
    const response = await post("/api/checkout", JSON.stringify({ amountCents: 1, padding }));
    expect(response.status).toBe(400);
    expect((await response.json()).error.code).toBe("INVALID_AMOUNT");
  });

  it("does not count a GET, which has no body", async () => {
    const response = await test.app.request("/api/me", { headers: { cookie: person.cookie } });
    expect(response.status).toBe(200);
  });
});
