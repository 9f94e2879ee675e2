// Pre-join: where the link leads, the name others will see, which devices to use — with the
// camera's preview and the microphone's level meter moving, and the pickers redrawn when
// devices are plugged in or out.
import { SELF_VIEW, type DevicesView, type JoinRequest, type LinkView, type SourceChoice } from "../backend";
import { el } from "../dom";
import { TileVideo, type VideoFeed } from "../video";
import { fillPicker } from "./pickers";

export interface PrejoinInput {
  link: string;
  summary: LinkView;
  /** Set when this computer hosts the meeting: the link to share. */
  shareLink: string | null;
  localOnly: boolean;
  devices: DevicesView;
  name: string;
  notes: string[];
  error: string | null;
}

export interface PrejoinActions {
  join(request: JoinRequest): void;
  back(): void;
  /** Runs the chosen camera and microphone; resolves to sentences about any that would not open. */
  preview(camera: SourceChoice, microphone: SourceChoice): Promise<string[]>;
  micLevel(): Promise<number>;
  video: VideoFeed;
}

/** The meter's width, in percent, for an RMS level: 60 dB of range, so speech fills most of it. */
export function meterPercent(rms: number): number {
  if (rms <= 0) return 0;
  const db = 20 * Math.log10(rms);
  return Math.max(0, Math.min(100, ((db + 60) / 60) * 100));
}

export class PrejoinScreen {
  readonly root: HTMLElement;
  private readonly camera = el("select", { id: "camera-select", "aria-label": "Camera" });
  private readonly microphone = el("select", { id: "mic-select", "aria-label": "Microphone" });
  private readonly speaker = el("select", { id: "speaker-select", "aria-label": "Speaker" });
  private readonly notes = el("ul", { id: "device-notes", class: "notes" });
  private readonly meter = el("div", { id: "mic-meter", class: "meter-fill" });
  private readonly preview: TileVideo;
  private readonly previewTile = el("div", { class: "tile self no-picture", id: "preview" });
  private deviceNotes: string[];
  private openNotes: string[] = [];
  private metering = true;

  constructor(private readonly input: PrejoinInput, private readonly actions: PrejoinActions) {
    const name = el("input", { id: "name-input", type: "text", value: input.name, placeholder: "Your name", "aria-label": "Your name" });
    this.deviceNotes = input.notes;
    this.setDevices(input.devices);
    const canvas = el("canvas", { class: "video" });
    this.previewTile.append(canvas, el("div", { class: "placeholder" }, "Camera off"));
    this.preview = new TileVideo(canvas, SELF_VIEW, actions.video, () => this.previewTile.classList.remove("no-picture"));
    this.camera.onchange = () => void this.restartPreview();
    this.microphone.onchange = () => void this.restartPreview();
    const join = () =>
      actions.join({
        link: input.link,
        name: name.value,
        camera: this.camera.value,
        microphone: this.microphone.value,
        speaker: this.speaker.value,
      });
    const share = input.shareLink
      ? el(
          "div",
          { class: "share" },
          el("label", {}, input.localOnly ? "Only this computer can join this meeting:" : "Others on your network can join with:"),
          el("div", { class: "row" }, el("code", { id: "meeting-link" }, input.shareLink), el("button", {
            id: "copy-link",
            onclick: () => void navigator.clipboard?.writeText(input.shareLink ?? ""),
          }, "Copy")),
        )
      : null;
    this.root = el(
      "section",
      { class: "screen prejoin", id: "prejoin" },
      el("h2", {}, `Join ${input.summary.room}`),
      el("p", { class: "muted" }, `on ${input.summary.server}`),
      share,
      this.previewTile,
      el("label", {}, "Name", name),
      el("label", {}, "Camera", this.camera),
      el("label", {}, "Microphone", this.microphone),
      el("div", { class: "meter", title: "Microphone level" }, this.meter),
      el("label", {}, "Speaker", this.speaker),
      this.notes,
      input.error ? el("p", { class: "error", id: "prejoin-error", role: "alert" }, input.error) : null,
      el("div", { class: "row" }, el("button", { onclick: () => actions.back() }, "Back"), el("button", { id: "join-button", class: "primary", onclick: join }, "Join")),
    );
    this.showNotes();
    void this.restartPreview();
    void this.meterLoop();
  }

  /** New pickers (a device was plugged in or out); choices still offered are kept. */
  setDevices(devices: DevicesView): void {
    this.input.devices = devices;
    const before = [this.camera.value, this.microphone.value];
    fillPicker(this.camera, devices.cameras, true);
    fillPicker(this.microphone, devices.microphones, true);
    fillPicker(this.speaker, devices.speakers, true);
    this.deviceNotes = devices.notes;
    this.showNotes();
    if (this.preview && (before[0] !== this.camera.value || before[1] !== this.microphone.value)) void this.restartPreview();
  }

  /** Stops the preview and the meter (joining, or leaving this screen). */
  dispose(): void {
    this.metering = false;
    this.preview.stop();
  }

  private async restartPreview(): Promise<void> {
    this.previewTile.classList.add("no-picture");
    this.openNotes = await this.actions.preview(this.camera.value, this.microphone.value).catch(() => []);
    this.showNotes();
  }

  private showNotes(): void {
    this.notes.replaceChildren(...[...this.deviceNotes, ...this.openNotes].map((note) => el("li", {}, note)));
  }

  private async meterLoop(): Promise<void> {
    while (this.metering) {
      const level = await this.actions.micLevel().catch(() => 0);
      this.meter.style.width = `${meterPercent(level)}%`;
      this.meter.dataset.level = level.toFixed(3);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
