// The call screen: banner, a grid of tiles (live canvases kept across updates), controls with
// keyboard shortcuts, device pickers that switch devices mid-call, the participant list and
// the chat panel.
import { SELF_VIEW, captureRole, type DeviceRole, type DevicesView, type JoinAnswer, type JoinRequest, type Media, type SourceChoice } from "../backend";
import { el } from "../dom";
import { present, type Banner, type CallModel, type Person } from "../model";
import { TileVideo, type VideoFeed } from "../video";
import { ChatPanel, type ChatActions } from "./chat";
import { fillPicker } from "./pickers";

export interface CallActions extends ChatActions {
  /** Mutes or unmutes our `media` (the model says which it is now); its device stays open. */
  toggleMuted(media: Media): void;
  /** Another device picked in the call; resolves to whether it is in use now. */
  switchDevice(role: DeviceRole, choice: SourceChoice): Promise<boolean>;
  /** Opens `choice` for `media`, which had no device, and unmutes it; resolves to whether it opened. */
  switchOn(media: Media, choice: SourceChoice): Promise<boolean>;
  /** Mutes `media` and lets its device go (video stopped: the camera's light goes off). */
  switchOff(media: Media): void;
  leave(): void;
  messagePrivately(identity: string): void;
  home(): void;
  video: VideoFeed;
}

/** Shortcuts: Ctrl+D microphone, Ctrl+E camera (as in the common clients), Ctrl+Shift+L leave. */
export function shortcut(event: KeyboardEvent): "mic" | "camera" | "leave" | null {
  if (!event.ctrlKey && !event.metaKey) return null;
  const key = event.key.toLowerCase();
  if (key === "d" && !event.shiftKey) return "mic";
  if (key === "e" && !event.shiftKey) return "camera";
  if (key === "l" && event.shiftKey) return "leave";
  return null;
}

function bannerText(banner: Banner): string {
  switch (banner.kind) {
    case "joining":
      return "Joining…";
    case "inCall":
      return "";
    case "reconnecting":
      return `Connection lost — reconnecting (attempt ${banner.attempt})…`;
    case "mediaInterrupted":
      return "Video and audio are interrupted — trying to restore them…";
    case "ended":
      return banner.reason;
  }
}

interface Tile {
  root: HTMLElement;
  label: HTMLElement;
  video: TileVideo;
}

export class CallScreen {
  readonly root = el("section", { class: "screen call", id: "call" });
  private readonly banner = el("div", { id: "banner", role: "status" });
  private readonly incoming = el("div", { id: "incoming-link", class: "banner incoming", hidden: true });
  private readonly grid = el("div", { id: "grid", class: "grid" });
  private readonly problems = el("ul", { id: "problems", class: "notes", role: "alert" });
  private readonly people = el("div", { class: "people" });
  private readonly chat: ChatPanel;
  private readonly side = el("div", { class: "side" });
  private readonly controls = el("div", { class: "controls" });
  private readonly tiles = new Map<string, Tile>();
  private readonly selfView: Tile;
  /** Our mute state as last rendered. */
  private own: CallModel["own"] = { muted: { audio: false, video: false }, lost: new Set() };
  private readonly pickers: Record<DeviceRole, HTMLSelectElement> = {
    camera: el("select", { id: "call-camera", "aria-label": "Camera" }),
    microphone: el("select", { id: "call-mic", "aria-label": "Microphone" }),
    speaker: el("select", { id: "call-speaker", "aria-label": "Speaker" }),
  };
  /** What each picker's device in use is (a picked device that would not open is not): a
   * choice, "none" (off: the picker shows what switching on will open), or "" (it stopped or was
   * unplugged: the picker asks for another). */
  private readonly inUse: Record<DeviceRole, SourceChoice>;
  private readonly devices = el("div", { class: "devices", id: "call-devices" });
  private readonly onKey = (event: KeyboardEvent) => this.key(event);

  /** `chosen`: what the pre-join screen asked for ("none": that medium off); see
   * {@link CallScreen.joinedWith} for what opened. */
  constructor(private readonly actions: CallActions, chosen: Pick<JoinRequest, "camera" | "microphone" | "speaker">) {
    this.chat = new ChatPanel(actions);
    this.side.append(this.people, this.chat.root);
    this.selfView = this.newTile(SELF_VIEW, "You");
    this.selfView.root.classList.add("self");
    this.inUse = { ...chosen };
    for (const [role, label] of [
      ["camera", "Camera"],
      ["microphone", "Microphone"],
      ["speaker", "Speaker"],
    ] as const) {
      const picker = this.pickers[role];
      picker.append(el("option", { value: chosen[role] }, ""));
      picker.onchange = () => void this.pick(role);
      this.devices.append(el("label", {}, label, picker));
    }
    this.root.append(this.banner, this.incoming, this.problems, el("div", { class: "stage" }, this.grid, this.side), this.controls, this.devices);
    window.addEventListener("keydown", this.onKey);
  }

  /** Redraws the pickers from a new device list, keeping each choice while it is plugged in;
   * one that was unplugged leaves its picker asking for another (no device shown as in use). */
  setDevices(devices: DevicesView): void {
    const lists: Record<DeviceRole, [DevicesView["cameras"], boolean]> = {
      camera: [devices.cameras, false],
      microphone: [devices.microphones, false],
      speaker: [devices.speakers, true],
    };
    for (const [role, [options, off]] of Object.entries(lists) as [DeviceRole, [DevicesView["cameras"], boolean]][]) {
      const picker = this.pickers[role];
      fillPicker(picker, options, off);
      if (this.isOff(role)) continue; // the picker shows what switching on will open
      picker.value = this.inUse[role];
      if (this.inUse[role] === "" || picker.value !== this.inUse[role]) this.askForDevice(role);
    }
  }

  /** Shows no device in use in `role`'s picker, so any entry (the old one too) can be picked. */
  private askForDevice(role: DeviceRole): void {
    const picker = this.pickers[role];
    this.inUse[role] = "";
    if (picker.options[0]?.value !== "") picker.prepend(el("option", { value: "", disabled: true }, `Pick a ${role}`));
    picker.selectedIndex = 0;
  }

  /** What opened at join: "none" is off when asked for, and a device that would not open
   * leaves its picker asking for another (picking one switches it on). */
  joinedWith(answer: Pick<JoinAnswer, "camera" | "microphone">): void {
    for (const role of ["camera", "microphone"] as const) {
      if (answer[role] === "none" && this.inUse[role] !== "none") this.askForDevice(role);
      else this.inUse[role] = answer[role];
    }
  }

  /** Whether `role` is switched off (no device open, by choice rather than by a failure). */
  private isOff(role: DeviceRole): boolean {
    return role !== "speaker" && this.inUse[role] === "none";
  }

  private async pick(role: DeviceRole): Promise<void> {
    if (this.isOff(role)) return; // remembered in the picker for when it is switched on
    const picker = this.pickers[role];
    const choice = picker.value;
    const before = this.inUse[role];
    const switched = await this.actions.switchDevice(role, choice);
    if (this.inUse[role] !== before) return; // switched off meanwhile: that came after
    if (switched) this.inUse[role] = choice;
    else picker.value = before; // the call kept the device it had
  }

  dispose(): void {
    window.removeEventListener("keydown", this.onKey);
    for (const tile of this.tiles.values()) tile.video.stop();
    this.tiles.clear();
    this.selfView.video.stop();
  }

  private key(event: KeyboardEvent): void {
    const action = shortcut(event);
    if (!action) return;
    event.preventDefault();
    if (action === "mic") this.toggle("audio");
    if (action === "camera") this.toggle("video");
    if (action === "leave") this.actions.leave();
  }

  /** The mute or camera button: a medium with no device open opens the one its picker shows;
   * stopping video lets the camera go; the microphone mutes and stays open. */
  private toggle(media: Media): void {
    const role = captureRole(media);
    const open = this.inUse[role] !== "none" && this.inUse[role] !== "";
    if (this.own.muted[media] && !open) {
      void this.switchOn(media, role);
    } else if (media === "video" && !this.own.muted.video) {
      this.inUse.camera = "none";
      this.actions.switchOff(media);
    } else {
      this.actions.toggleMuted(media);
    }
  }

  private async switchOn(media: Media, role: "camera" | "microphone"): Promise<void> {
    const picker = this.pickers[role];
    const choice = picker.value || [...picker.options].find((option) => option.value !== "")?.value;
    if (choice && (await this.actions.switchOn(media, choice))) {
      this.inUse[role] = choice;
      picker.value = choice;
    }
  }

  /** A link to another room arrived: offer to leave this call for it, or stay. */
  offerLink(room: string, open: () => void): void {
    const stay = () => {
      this.incoming.hidden = true;
    };
    this.incoming.replaceChildren(
      el("span", {}, `A link to the room “${room}” was opened. `),
      el("button", { id: "incoming-open", onclick: open }, "Leave and open it"),
      el("button", { id: "incoming-stay", onclick: stay }, "Stay in this call"),
    );
    this.incoming.hidden = false;
  }

  update(model: CallModel): void {
    this.own = model.own;
    this.devices.hidden = model.banner.kind === "ended";
    if (model.own.lost.has("video") && this.inUse.camera !== "") this.askForDevice("camera");
    if (model.own.lost.has("audio") && this.inUse.microphone !== "") this.askForDevice("microphone");
    const text = bannerText(model.banner);
    this.banner.textContent = text;
    this.banner.className = `banner ${model.banner.kind}`;
    this.banner.hidden = text === "";
    this.problems.replaceChildren(...model.problems.map((problem) => el("li", {}, problem)));
    this.updateTiles(present(model), model.speaking);
    this.selfView.root.classList.toggle("video-off", model.own.muted.video);
    this.people.replaceChildren(...this.participantList(model));
    this.chat.update(model);
    this.controls.replaceChildren(...this.controlButtons(model));
  }

  private newTile(participant: string, name: string): Tile {
    const canvas = el("canvas", { class: "video" });
    const root = el("div", { class: "tile no-picture", "data-participant": participant, "data-name": name });
    const video = new TileVideo(canvas, participant, this.actions.video, () => root.classList.remove("no-picture"));
    const label = el("div", { class: "label" }, name);
    root.append(canvas, el("div", { class: "placeholder" }, "No video"), label);
    this.grid.append(root);
    return { root, label, video };
  }

  private updateTiles(people: Person[], speaking: string | null): void {
    const ids = new Set(people.map((p) => p.id));
    for (const [id, tile] of this.tiles) {
      if (!ids.has(id)) {
        tile.video.stop();
        tile.root.remove();
        this.tiles.delete(id);
      }
    }
    for (const person of people) {
      let tile = this.tiles.get(person.id);
      if (!tile) {
        tile = this.newTile(person.id, person.name);
        this.tiles.set(person.id, tile);
      }
      tile.root.classList.toggle("video-off", person.videoMuted);
      tile.root.classList.toggle("speaking", person.id === speaking);
      tile.label.replaceChildren(person.name, person.audioMuted ? el("span", { class: "muted-badge", title: "Muted" }, " 🔇 muted") : "");
    }
    this.grid.dataset.count = String(people.length + 1);
  }

  private participantList(model: CallModel): HTMLElement[] {
    const list = el("ul", { id: "participants" }, el("li", { class: "me" }, "You"));
    for (const person of present(model)) {
      list.append(
        el(
          "li",
          {},
          person.name,
          el("button", { class: "private-chat", "data-identity": person.identity, "data-name": person.name, onclick: () => this.actions.messagePrivately(person.identity) }, "Message privately"),
        ),
      );
    }
    return [el("h3", {}, "People"), list];
  }

  private controlButtons(model: CallModel): HTMLElement[] {
    if (model.banner.kind === "ended") {
      return [el("button", { id: "home-button", class: "primary", onclick: () => this.actions.home() }, "Back to start")];
    }
    return [
      el("button", { id: "toggle-mic", title: "Ctrl+D", onclick: () => this.toggle("audio") }, model.own.muted.audio ? "Unmute" : "Mute"),
      el("button", { id: "toggle-camera", title: "Ctrl+E", onclick: () => this.toggle("video") }, model.own.muted.video ? "Start video" : "Stop video"),
      el("button", { id: "leave", class: "danger", title: "Ctrl+Shift+L", onclick: () => this.actions.leave() }, "Leave"),
    ];
  }
}
