// Everything the UI asks of the Rust side, typed. The only file that calls `invoke`.
import { Channel, invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import type { VideoDrawing } from "./video";

export type Media = "audio" | "video";
/** A picker's value: "synthetic", "none" or "device:<id>" (ids come from the device list). */
export type SourceChoice = string;

/** What an in-call device picker changes. */
export type DeviceRole = "camera" | "microphone" | "speaker";

/** The device that captures `media`. */
export function captureRole(media: Media): "camera" | "microphone" {
  return media === "video" ? "camera" : "microphone";
}

/** The participant a tile names to get our own picture (self-view and preview). */
export const SELF_VIEW = "~self";

export type ConversationView = { kind: "public" } | { kind: "private"; members: string[] };

export interface ParticipantView {
  id: string;
  identity: string;
  name: string;
}

export interface ChatView {
  id: string;
  from: string;
  fromIdentity: string;
  fromName: string;
  /** The sender's order stamp: each sender's lines are shown in this order. */
  order: number;
  conversation: ConversationView;
  text: string;
  own: boolean;
}

export type UiEvent =
  | { kind: "joined"; local: string; identity: string }
  | { kind: "participantJoined"; participant: ParticipantView }
  | { kind: "participantLeft"; id: string; reason: string }
  | { kind: "trackMuted"; participant: string; media: Media; muted: boolean }
  | { kind: "chat"; message: ChatView }
  | { kind: "chatDelivered"; id: string; to: string }
  | { kind: "chatNotDelivered"; id: string; reason: string }
  | { kind: "reconnecting"; attempt: number }
  | { kind: "activeSpeaker"; participant: string | null }
  | { kind: "mediaInterrupted" }
  | { kind: "mediaRestored" }
  | { kind: "deviceLost"; media: Media; message: string }
  | { kind: "problem"; message: string }
  | { kind: "ended"; reason: string };

export interface UiError {
  code: string;
  message: string;
}

export interface LinkView {
  adapter: string;
  server: string;
  room: string;
  redacted: string;
}

export interface MeetingView {
  link: string;
  localOnly: boolean;
}

export interface DeviceView {
  id: SourceChoice;
  label: string;
}

export interface DevicesView {
  cameras: DeviceView[];
  microphones: DeviceView[];
  speakers: DeviceView[];
  notes: string[];
}

export interface LoadedSettings {
  settings: { displayName?: string | null; videoDrawing?: VideoDrawing };
  problem?: string | null;
}

export interface JoinRequest {
  link: string;
  name: string;
  camera: SourceChoice;
  microphone: SourceChoice;
  speaker: SourceChoice;
}

/** What joining opened. */
export interface JoinAnswer {
  notices: string[];
  /** The camera in use; "none" when video is off (asked so, or the camera would not open). */
  camera: SourceChoice;
  /** The microphone in use; "none" when off (asked so, or the microphone would not open). */
  microphone: SourceChoice;
}

/** A failed command's sentence, whatever shape the failure took. */
export function errorMessage(error: unknown): string {
  if (typeof error === "object" && error !== null && "message" in error) {
    return String((error as UiError).message);
  }
  return String(error);
}

export const backend = {
  parseLink: (text: string) => invoke<LinkView>("parse_link", { text }),
  launchLink: () => invoke<string | null>("launch_link"),
  /** Calls `handler` whenever a link is handed to the running app (clicked, or a second launch). */
  onOpenLink: (handler: () => void) => listen("open-link", handler),
  startMeeting: () => invoke<MeetingView>("start_meeting"),
  listDevices: () => invoke<DevicesView>("list_devices"),
  /** Calls `handler` with the new pickers whenever a device is plugged in or out. */
  onDevicesChanged: (handler: (devices: DevicesView) => void) => listen<DevicesView>("devices-changed", (event) => handler(event.payload)),
  /** Runs the chosen camera and microphone before joining; resolves to sentences about any that would not open. */
  startPreview: (camera: SourceChoice, microphone: SourceChoice) => invoke<string[]>("start_preview", { camera, microphone }),
  stopPreview: () => invoke<void>("stop_preview"),
  micLevel: () => invoke<number>("mic_level"),
  /** Uses another device in the call from now on ("none": the camera or microphone off and let go); rejects with a sentence if it will not open. */
  switchDevice: (role: DeviceRole, choice: SourceChoice) => invoke<void>("switch_device", { role, choice }),
  loadSettings: () => invoke<LoadedSettings>("load_settings"),
  /** Resolves to what opened: the camera and microphone in use ("none": off, offered muted) and sentences about any that would not open. */
  join(request: JoinRequest, onEvent: (event: UiEvent) => void): Promise<JoinAnswer> {
    const events = new Channel<UiEvent>();
    events.onmessage = onEvent;
    return invoke<JoinAnswer>("join", { request, events });
  },
  leave: () => invoke<void>("leave"),
  setMuted: (media: Media, muted: boolean) => invoke<void>("set_muted", { media, muted }),
  sendChat: (conversation: ConversationView, text: string) => invoke<void>("send_chat", { conversation, text }),
  /** The picture socket's address with its token: tiles add `/PARTICIPANT` (see video.ts). */
  pictureSocket: () => invoke<string>("picture_socket"),
};
