import { describe, expect, it, vi } from "vitest";
import { FRAME_HEADER_LEN, frameSequence, parseFrame, socketPictures, tileShape, type PictureSocket, type PictureStream, type Pixels } from "./video";

function frameBytes(sequence: number, width: number, height: number, layout: Pixels): ArrayBuffer {
  const bytes = width * height * (layout === "i420" ? 1.5 : 4);
  const buffer = new ArrayBuffer(FRAME_HEADER_LEN + bytes);
  const header = new DataView(buffer);
  header.setBigUint64(0, BigInt(sequence), true);
  header.setUint32(8, width, true);
  header.setUint32(12, height, true);
  new Uint8Array(buffer, FRAME_HEADER_LEN).fill(200);
  return buffer;
}

describe("frames from the Rust side", () => {
  it("reads the header and the planes", () => {
    const frame = parseFrame(frameBytes(42, 4, 2, "i420"), "i420");
    expect(frame && { sequence: frame.sequence, width: frame.width, height: frame.height, bytes: frame.pixels.length }).toEqual({
      sequence: 42,
      width: 4,
      height: 2,
      bytes: 12,
    });
  });

  it("reads RGBA pixels, four bytes each", () => {
    const frame = parseFrame(frameBytes(7, 4, 2, "rgba"), "rgba");
    expect(frame?.pixels.length).toBe(32);
    expect(Array.from(frame!.pixels.subarray(0, 4))).toEqual([200, 200, 200, 200]);
  });

  it("treats an empty answer, a short frame or planes where pixels were asked for as no picture", () => {
    expect(parseFrame(new ArrayBuffer(0), "i420")).toBeNull();
    expect(parseFrame(frameBytes(1, 4, 2, "i420").slice(0, FRAME_HEADER_LEN + 5), "i420")).toBeNull();
    expect(parseFrame(frameBytes(1, 4, 2, "i420"), "rgba")).toBeNull();
  });

  it("skips a picture the app could not prepare (size 0) by its number", () => {
    const unprepared = frameBytes(9, 0, 0, "rgba");
    expect(parseFrame(unprepared, "rgba")).toBeNull();
    expect(frameSequence(unprepared)).toBe(9);
    expect(frameSequence(new ArrayBuffer(0))).toBeNull();
  });
});

describe("the size a tile asks for", () => {
  it("is its box in screen pixels, so a HiDPI screen gets a sharp picture", () => {
    expect(tileShape(395, 222, 1, "rgba")).toEqual({ maxWidth: 395, maxHeight: 222, pixels: "rgba" });
    expect(tileShape(395.5, 222.2, 2, "i420")).toEqual({ maxWidth: 791, maxHeight: 444, pixels: "i420" });
  });
});

/** Stands in for the app's picture socket: records what a tile sends, and answers when told. */
class FakeSocket implements PictureSocket {
  binaryType: BinaryType = "blob";
  onopen: PictureSocket["onopen"] = null;
  onmessage: PictureSocket["onmessage"] = null;
  onclose: PictureSocket["onclose"] = null;
  sent: unknown[] = [];
  closed = false;
  constructor(readonly url: string) {}
  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }
  close(): void {
    this.closed = true;
  }
  open(): void {
    this.onopen?.call(this as unknown as WebSocket, new Event("open"));
  }
  answer(picture: ArrayBuffer): void {
    this.onmessage?.call(this as unknown as WebSocket, new MessageEvent("message", { data: picture }));
  }
  lost(): void {
    this.onclose?.call(this as unknown as WebSocket, new CloseEvent("close"));
  }
}

describe("a tile's pictures over the picture socket", () => {
  const shape = { maxWidth: 400, maxHeight: 224, pixels: "rgba" } as const;

  function stream(): { pictures: PictureStream; socket: () => FakeSocket } {
    let socket: FakeSocket | null = null;
    const pictures = socketPictures(Promise.resolve("ws://127.0.0.1:4000/token"), "alice", (url) => {
      socket = new FakeSocket(url);
      queueMicrotask(() => socket?.open());
      return socket;
    });
    return { pictures, socket: () => socket! };
  }

  it("names the participant, asks with the last picture drawn and the shape, and gets the answer", async () => {
    const { pictures, socket } = stream();
    const next = pictures.next(41, shape);
    await vi.waitFor(() => expect(socket().sent).toHaveLength(1));
    expect(socket().url).toBe("ws://127.0.0.1:4000/token/alice");
    expect(socket().binaryType).toBe("arraybuffer");
    expect(socket().sent[0]).toEqual({ after: 41, ...shape });
    socket().answer(frameBytes(42, 4, 2, "rgba"));
    expect(frameSequence(await next)).toBe(42);

    const after = pictures.next(42, shape);
    await vi.waitFor(() => expect(socket().sent).toHaveLength(2));
    expect(socket().sent[1]).toEqual({ after: 42, ...shape });
    socket().answer(frameBytes(43, 4, 2, "rgba"));
    expect(frameSequence(await after)).toBe(43);
  });

  it("closes a socket that opens after its tile already stopped", async () => {
    let address: (base: string) => void = () => undefined;
    let socket: FakeSocket | null = null;
    const pictures = socketPictures(new Promise<string>((resolve) => (address = resolve)), "alice", (url) => {
      socket = new FakeSocket(url);
      queueMicrotask(() => socket?.open());
      return socket;
    });
    pictures.close();
    address("ws://127.0.0.1:4000/token");
    await vi.waitFor(() => expect(socket?.closed).toBe(true));
    await expect(pictures.next(0, shape)).rejects.toThrow();
  });

  it("stops a waiting tile when the tile is stopped or the app closes the socket", async () => {
    const stopped = stream();
    const waiting = stopped.pictures.next(0, shape);
    await vi.waitFor(() => expect(stopped.socket().sent).toHaveLength(1));
    stopped.pictures.close();
    await expect(waiting).rejects.toThrow();
    await vi.waitFor(() => expect(stopped.socket().closed).toBe(true));

    const lost = stream();
    const pending = lost.pictures.next(0, shape);
    await vi.waitFor(() => expect(lost.socket().sent).toHaveLength(1));
    lost.socket().lost();
    await expect(pending).rejects.toThrow();
    await expect(lost.pictures.next(0, shape)).rejects.toThrow();
  });
});
