// One remote participant's picture: pulls raw I420 frames from the Rust side (`next_frame`,
// binary, never JSON) and draws them on a canvas with WebGL (YUV to RGB on the GPU). Where
// WebGL is missing it draws a half-size picture converted on the CPU instead.

export const FRAME_HEADER_LEN = 16;

export interface Frame {
  sequence: number;
  width: number;
  height: number;
  planes: Uint8Array;
}

/** Reads the header `next_frame` puts before the planes; null for "no new picture". */
export function parseFrame(buffer: ArrayBuffer): Frame | null {
  if (buffer.byteLength < FRAME_HEADER_LEN) return null;
  const header = new DataView(buffer, 0, FRAME_HEADER_LEN);
  const sequence = Number(header.getBigUint64(0, true));
  const width = header.getUint32(8, true);
  const height = header.getUint32(12, true);
  const planes = new Uint8Array(buffer, FRAME_HEADER_LEN);
  if (width === 0 || height === 0 || planes.length < (width * height * 3) / 2) return null;
  return { sequence, width, height, planes };
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
    draw({ width, height, planes }) {
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

/** Half-size RGBA from I420 (one pixel per chroma sample), for canvases without WebGL. */
export function halfSizeRgba({ width, height, planes }: Frame): { width: number; height: number; data: Uint8ClampedArray<ArrayBuffer> } {
  const w = width / 2;
  const h = height / 2;
  const out = { width: w, height: h, data: new Uint8ClampedArray(w * h * 4) };
  const luma = width * height;
  for (let row = 0; row < h; row++) {
    for (let col = 0; col < w; col++) {
      const y = 1.1643 * (planes[row * 2 * width + col * 2] - 16);
      const u = planes[luma + row * w + col] - 128;
      const v = planes[luma + luma / 4 + row * w + col] - 128;
      const at = (row * w + col) * 4;
      out.data[at] = y + 1.5958 * v;
      out.data[at + 1] = y - 0.39173 * u - 0.8129 * v;
      out.data[at + 2] = y + 2.017 * u;
      out.data[at + 3] = 255;
    }
  }
  return out;
}

function canvasPainter(canvas: HTMLCanvasElement): Painter | null {
  const context = canvas.getContext("2d");
  if (!context) return null;
  return {
    draw(frame) {
      const rgba = halfSizeRgba(frame);
      const image = new ImageData(rgba.data, rgba.width, rgba.height);
      if (canvas.width !== image.width || canvas.height !== image.height) {
        canvas.width = image.width;
        canvas.height = image.height;
      }
      context.putImageData(image, 0, 0);
    },
  };
}

/** Draws a participant's pictures until stopped; counts what it drew (also as the canvas's
 * `data-shown`). */
export class TileVideo {
  shown = 0;
  private last = 0;
  private running = true;
  private readonly painter: Painter | null;

  constructor(
    readonly canvas: HTMLCanvasElement,
    private readonly participant: string,
    private readonly fetchFrame: (participant: string, after: number) => Promise<ArrayBuffer>,
    private readonly onFirstPicture: () => void,
  ) {
    this.painter = webglPainter(canvas) ?? canvasPainter(canvas);
    void this.loop();
  }

  stop(): void {
    this.running = false;
  }

  private async loop(): Promise<void> {
    while (this.running && this.painter) {
      let buffer: ArrayBuffer;
      try {
        buffer = await this.fetchFrame(this.participant, this.last);
      } catch {
        return; // the call is over
      }
      const frame = parseFrame(buffer);
      if (!frame || !this.running) continue;
      this.last = frame.sequence;
      await new Promise((done) => requestAnimationFrame(done));
      this.painter.draw(frame);
      this.shown += 1;
      this.canvas.dataset.shown = String(this.shown); // read by the tiles benchmark
      if (this.shown === 1) this.onFirstPicture();
    }
  }
}
