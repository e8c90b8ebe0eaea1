import { describe, expect, it } from "vitest";
import { linkify } from "./mailbox-page.js";

describe("linkify", () => {
  it("makes each http(s) URL a link and leaves sentence punctuation outside it", () => {
    expect(linkify("Open https://example.com/a?b=1&c=2. Or http://localhost:3000/x")).toBe(
      'Open <a href="https://example.com/a?b=1&#38;c=2">https://example.com/a?b=1&#38;c=2</a>. Or <a href="http://localhost:3000/x">http://localhost:3000/x</a>',
    );
  });

  it("escapes everything else and links no other scheme", () => {
    expect(linkify(`<b>"hi"</b> javascript:alert(1) https://x.test/"onmouseover=alert(1)`)).toBe(
      '&#60;b&#62;&#34;hi&#34;&#60;/b&#62; javascript:alert(1) <a href="https://x.test/">https://x.test/</a>&#34;onmouseover=alert(1)',
    );
  });
});
