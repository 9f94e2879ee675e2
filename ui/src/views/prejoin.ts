// Pre-join: where the link leads, the name others will see, and which sources to use.
import type { DevicesView, JoinRequest, LinkView, SourceChoice } from "../backend";
import { el } from "../dom";

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
}

function picker(id: string, label: string, options: { id: SourceChoice; label: string }[]): HTMLSelectElement {
  const select = el("select", { id, "aria-label": label });
  for (const option of [...options, { id: "none" as const, label: "Off" }]) {
    select.append(el("option", { value: option.id }, option.label));
  }
  return select;
}

export function prejoinView(input: PrejoinInput, actions: PrejoinActions): HTMLElement {
  const name = el("input", { id: "name-input", type: "text", value: input.name, placeholder: "Your name", "aria-label": "Your name" });
  const camera = picker("camera-select", "Camera", input.devices.cameras);
  const microphone = picker("mic-select", "Microphone", input.devices.microphones);
  const join = () =>
    actions.join({
      link: input.link,
      name: name.value,
      camera: camera.value as SourceChoice,
      microphone: microphone.value as SourceChoice,
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
  return el(
    "section",
    { class: "screen prejoin", id: "prejoin" },
    el("h2", {}, `Join ${input.summary.room}`),
    el("p", { class: "muted" }, `on ${input.summary.server}`),
    share,
    el("label", {}, "Name", name),
    el("label", {}, "Camera", camera),
    el("label", {}, "Microphone", microphone),
    el("ul", { id: "device-notes", class: "notes" }, ...input.notes.map((note) => el("li", {}, note))),
    input.error ? el("p", { class: "error", id: "prejoin-error", role: "alert" }, input.error) : null,
    el("div", { class: "row" }, el("button", { onclick: () => actions.back() }, "Back"), el("button", { id: "join-button", class: "primary", onclick: join }, "Join")),
  );
}
