// One participant's picture: pulls frames from the Rust side (over the app's loopback picture
// socket, binary, never JSON) already scaled to the size the tile shows them at, and draws
// them. Two ways to draw, chosen by the tiles benchmark (docs/benchmarks.md) and the
// `videoDrawing` setting:
// - "webgl": I420 planes uploaded as textures, YUV to RGB in a shader (the GPU's work);
// - "canvas": RGBA pixels (converted in Rust with SIMD) put on a 2D canvas as they are.

export const FRAME_HEADER_LEN = 16;

/** The pixel layout a tile asks for. */
export type Pixels = "i420" | "rgba";

/** The `videoDrawing` setting: a way to draw, or "auto" to let the app pick. */
export type VideoDrawing = "auto" | "webgl" | "canvas";

/** How a tile wants its pictures (what the picture socket is told). */
export interface FrameShape {
  maxWidth: number;
  maxHeight: number;
  pixels: Pixels;
}

/** One tile's pictures, pulled one at a time. */
export interface PictureStream {
  /** The first picture newer than the one numbered `after`, shaped as asked (header, then the
   * pixels); rejects once the stream is closed. */
  next(after: number, shape: FrameShape): Promise<ArrayBuffer>;
  close(): void;
}

/** Where tiles get pictures from, and how they draw them. */
export interface VideoFeed {
  drawing: VideoDrawing;
  open(participant: string): PictureStream;
}

/** What the picture socket needs of a WebSocket (a test passes a fake). */
export type PictureSocket = Pick<WebSocket, "binaryType" | "onopen" | "onmessage" | "onclose" | "send" | "close">;

/** `participant`'s pictures over the app's picture socket: `address` is the socket's address
 * with its token (the `picture_socket` command's answer). One ask at a time: a JSON line naming
 * the last picture drawn and the shape wanted, answered by one binary message. */
export function socketPictures(
  address: Promise<string>,
  participant: string,
  connect: (url: string) => PictureSocket = (url) => new WebSocket(url),
): PictureStream {
  let waiting: { resolve: (picture: ArrayBuffer) => void; reject: (error: Error) => void } | null = null;
  let closed = false;
  const end = (why: string) => {
    closed = true;
    waiting?.reject(new Error(why));
    waiting = null;
  };
  const opened = address.then(
    (base) =>
      new Promise<PictureSocket>((resolve, reject) => {
        const socket = connect(`${base}/${encodeURIComponent(participant)}`);
        socket.binaryType = "arraybuffer";
        socket.onopen = () => resolve(socket);
        socket.onmessage = (event: MessageEvent) => {
          if (!(event.data instanceof ArrayBuffer)) return;
          waiting?.resolve(event.data);
          waiting = null;
        };
        socket.onclose = () => {
          end("the picture socket closed");
          reject(new Error("the picture socket closed"));
        };
      }),
  );
  opened.catch(() => undefined); // a failure reaches the tile through `next`
  return {
    async next(after, shape) {
      const socket = await opened;
      if (closed) throw new Error("the picture stream is closed");
      return new Promise<ArrayBuffer>((resolve, reject) => {
        waiting = { resolve, reject };
        socket.send(JSON.stringify({ after, ...shape }));
      });
    },
    close() {
      end("the tile stopped");
      opened.then((socket) => socket.close(), () => undefined);
    },
  };
}

export interface Frame {
  sequence: number;
  width: number;
  height: number;
  /** I420 planes or RGBA pixels, as asked. */
  pixels: Uint8Array<ArrayBuffer>;
}

const BYTES_PER_PIXEL: Record<Pixels, number> = { i420: 1.5, rgba: 4 };

/** Reads the header the picture socket puts before the pixels; null for an answer too short to
 * be one or a picture the app could not prepare (size 0). */
export function parseFrame(buffer: ArrayBuffer, layout: Pixels): Frame | null {
  const sequence = frameSequence(buffer);
  if (sequence === null) return null;
  const header = new DataView(buffer, 0, FRAME_HEADER_LEN);
  const width = header.getUint32(8, true);
  const height = header.getUint32(12, true);
  const pixels = new Uint8Array(buffer, FRAME_HEADER_LEN);
  if (width === 0 || height === 0 || pixels.length < width * height * BYTES_PER_PIXEL[layout]) return null;
  return { sequence, width, height, pixels };
}

/** The number of the picture an answer is about, even one that could not be prepared (size 0);
 * null for an answer too short to be one. */
export function frameSequence(buffer: ArrayBuffer): number | null {
  if (buffer.byteLength < FRAME_HEADER_LEN) return null;
  return Number(new DataView(buffer).getBigUint64(0, true));
}

/** The size to ask for: the canvas's box in screen pixels (0 before it is laid out: any size). */
export function tileShape(cssWidth: number, cssHeight: number, pixelRatio: number, pixels: Pixels): FrameShape {
  return { maxWidth: Math.round(cssWidth * pixelRatio), maxHeight: Math.round(cssHeight * pixelRatio), pixels };
}

const VERTEX = `
attribute vec2 position;
varying vec2 uv;
void main() {
  uv = vec2((position.x + 1.0) / 2.0, (1.0 - position.y) / 2.0);
  gl_Position = vec4(position, 0.0, 1.0);
}`;

// BT.601 limited range, what OpenH264 produces.
const FRAGMENT = `
precision mediump float;
varying vec2 uv;
uniform sampler2D y;
uniform sampler2D u;
uniform sampler2D v;
void main() {
  float Y = 1.1643 * (texture2D(y, uv).r - 0.0625);
  float U = texture2D(u, uv).r - 0.5;
  float V = texture2D(v, uv).r - 0.5;
  gl_FragColor = vec4(Y + 1.5958 * V, Y - 0.39173 * U - 0.8129 * V, Y + 2.017 * U, 1.0);
}`;

interface Painter {
  readonly pixels: Pixels;
  draw(frame: Frame): void;
}

function compile(gl: WebGLRenderingContext, type: number, source: string): WebGLShader | null {
  const shader = gl.createShader(type);
  if (!shader) return null;
  gl.shaderSource(shader, source);
  gl.compileShader(shader);
  return gl.getShaderParameter(shader, gl.COMPILE_STATUS) ? shader : null;
}

function webglPainter(canvas: HTMLCanvasElement): Painter | null {
  const gl = canvas.getContext("webgl", { preserveDrawingBuffer: true });
  if (!gl) return null;
  const program = gl.createProgram();
  const vertex = compile(gl, gl.VERTEX_SHADER, VERTEX);
  const fragment = compile(gl, gl.FRAGMENT_SHADER, FRAGMENT);
  if (!program || !vertex || !fragment) return null;
  gl.attachShader(program, vertex);
  gl.attachShader(program, fragment);
  gl.linkProgram(program);
  if (!gl.getProgramParameter(program, gl.LINK_STATUS)) return null;
  gl.useProgram(program);
  const quad = gl.createBuffer();
  gl.bindBuffer(gl.ARRAY_BUFFER, quad);
  gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([-1, -1, 1, -1, -1, 1, 1, 1]), gl.STATIC_DRAW);
  const position = gl.getAttribLocation(program, "position");
  gl.enableVertexAttribArray(position);
  gl.vertexAttribPointer(position, 2, gl.FLOAT, false, 0, 0);
  gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
  const textures = ["y", "u", "v"].map((name, unit) => {
    const texture = gl.createTexture();
    gl.activeTexture(gl.TEXTURE0 + unit);
    gl.bindTexture(gl.TEXTURE_2D, texture);
    for (const [key, value] of [
      [gl.TEXTURE_MIN_FILTER, gl.LINEAR],
      [gl.TEXTURE_MAG_FILTER, gl.LINEAR],
      [gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE],
      [gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE],
    ]) {
      gl.texParameteri(gl.TEXTURE_2D, key, value);
    }
    gl.uniform1i(gl.getUniformLocation(program, name), unit);
    return texture;
  });
  return {
    pixels: "i420",
    draw({ width, height, pixels: planes }) {
      if (canvas.width !== width || canvas.height !== height) {
        canvas.width = width;
        canvas.height = height;
      }
      gl.viewport(0, 0, width, height);
      const luma = width * height;
      const chroma = luma / 4;
      const parts: [number, number, number, number][] = [
        [0, width, height, 0],
        [1, width / 2, height / 2, luma],
        [2, width / 2, height / 2, luma + chroma],
      ];
      for (const [unit, w, h, offset] of parts) {
        gl.activeTexture(gl.TEXTURE0 + unit);
        gl.bindTexture(gl.TEXTURE_2D, textures[unit]);
        const plane = planes.subarray(offset, offset + w * h);
        gl.texImage2D(gl.TEXTURE_2D, 0, gl.LUMINANCE, w, h, 0, gl.LUMINANCE, gl.UNSIGNED_BYTE, plane);
      }
      gl.drawArrays(gl.TRIANGLE_STRIP, 0, 4);
    },
  };
}

function canvasPainter(canvas: HTMLCanvasElement): Painter | null {
  const context = canvas.getContext("2d");
  if (!context) return null;
  return {
    pixels: "rgba",
    draw({ width, height, pixels }) {
      if (canvas.width !== width || canvas.height !== height) {
        canvas.width = width;
        canvas.height = height;
      }
      const rgba = new Uint8ClampedArray(pixels.buffer, pixels.byteOffset, width * height * 4);
      context.putImageData(new ImageData(rgba, width, height), 0, 0);
    },
  };
}

function painterFor(canvas: HTMLCanvasElement, drawing: VideoDrawing): Painter | null {
  if (drawing === "webgl") return webglPainter(canvas) ?? canvasPainter(canvas);
  return canvasPainter(canvas) ?? webglPainter(canvas); // "auto" and "canvas": measured the cheaper
}

/** Draws a participant's pictures until stopped; counts what it drew (also as the canvas's
 * `data-shown`). */
export class TileVideo {
  shown = 0;
  private last = 0;
  private running = true;
  private readonly painter: Painter | null;
  /** None when the canvas cannot draw: the tile then shows its placeholder and asks nothing. */
  private readonly pictures: PictureStream | null;

  constructor(
    readonly canvas: HTMLCanvasElement,
    participant: string,
    feed: VideoFeed,
    private readonly onFirstPicture: () => void,
  ) {
    this.painter = painterFor(canvas, feed.drawing);
    this.pictures = this.painter ? feed.open(participant) : null;
    void this.loop();
  }

  stop(): void {
    this.running = false;
    this.pictures?.close();
  }

  private async loop(): Promise<void> {
    while (this.running && this.painter && this.pictures) {
      const { pixels } = this.painter;
      const shape = tileShape(this.canvas.clientWidth, this.canvas.clientHeight, window.devicePixelRatio, pixels);
      let buffer: ArrayBuffer;
      try {
        buffer = await this.pictures.next(this.last, shape);
      } catch (error) {
        if (this.running) console.warn(`a tile's pictures stopped: ${String(error)}`);
        return;
      }
      // A picture the app could not prepare is skipped like a drawn one, so it is not asked for again.
      this.last = frameSequence(buffer) ?? this.last;
      const frame = parseFrame(buffer, pixels);
      if (!frame || !this.running) continue;
      await new Promise((done) => requestAnimationFrame(done));
      this.painter.draw(frame);
      this.shown += 1;
      this.canvas.dataset.shown = String(this.shown); // read by the tiles benchmark
      if (this.shown === 1) this.onFirstPicture();
    }
  }
}
