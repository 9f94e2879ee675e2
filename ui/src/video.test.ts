import { describe, expect, it } from "vitest";
import { FRAME_HEADER_LEN, halfSizeRgba, parseFrame } from "./video";

function frameBytes(sequence: number, width: number, height: number, fill: [number, number, number]): ArrayBuffer {
  const luma = width * height;
  const buffer = new ArrayBuffer(FRAME_HEADER_LEN + luma * 1.5);
  const header = new DataView(buffer);
  header.setBigUint64(0, BigInt(sequence), true);
  header.setUint32(8, width, true);
  header.setUint32(12, height, true);
  const planes = new Uint8Array(buffer, FRAME_HEADER_LEN);
  planes.fill(fill[0], 0, luma);
  planes.fill(fill[1], luma, luma + luma / 4);
  planes.fill(fill[2], luma + luma / 4);
  return buffer;
}

describe("frames from the Rust side", () => {
  it("reads the header and the planes", () => {
    const frame = parseFrame(frameBytes(42, 4, 2, [16, 128, 128]));
    expect(frame && { sequence: frame.sequence, width: frame.width, height: frame.height, bytes: frame.planes.length }).toEqual({
      sequence: 42,
      width: 4,
      height: 2,
      bytes: 12,
    });
  });

  it("treats an empty answer or a short frame as no picture", () => {
    expect(parseFrame(new ArrayBuffer(0))).toBeNull();
    expect(parseFrame(frameBytes(1, 4, 2, [0, 0, 0]).slice(0, FRAME_HEADER_LEN + 5))).toBeNull();
  });

  it("converts BT.601 colours: white, black and pure red come out as such", () => {
    const pixel = (yuv: [number, number, number]) => Array.from(halfSizeRgba(parseFrame(frameBytes(1, 2, 2, yuv))!).data);
    expect(pixel([235, 128, 128])).toEqual([255, 255, 255, 255]);
    expect(pixel([16, 128, 128])).toEqual([0, 0, 0, 255]);
    const [r, g, b] = pixel([81, 90, 240]);
    expect(r).toBeGreaterThan(250);
    expect(g).toBeLessThan(5);
    expect(b).toBeLessThan(5);
  });
});
