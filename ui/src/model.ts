// The call as the UI shows it, built only from the engine's events. Pure: no DOM, no IPC.
// Private conversations are keyed by their members' identities, exactly as the engine names
// them; the UI never decides who receives a message.
import type { ChatView, ConversationView, JoinAnswer, Media, ParticipantView, UiEvent } from "./backend";

export interface Person extends ParticipantView {
  audioMuted: boolean;
  videoMuted: boolean;
  /** Why they left, once they have; kept so their conversations still have a name. */
  left: string | null;
}

export type Delivery = "sending" | "delivered" | { notDelivered: string };

export interface Line extends ChatView {
  delivery: Delivery;
  /** For our own private lines: the members, by identity, who have not acknowledged it yet. */
  awaiting: string[];
}

export interface Conversation {
  key: string;
  view: ConversationView;
  lines: Line[];
  unread: number;
}

export type Banner =
  | { kind: "joining" }
  | { kind: "inCall" }
  | { kind: "reconnecting"; attempt: number }
  | { kind: "mediaInterrupted" }
  | { kind: "ended"; reason: string };

export interface CallModel {
  local: string | null;
  identity: string | null;
  people: Map<string, Person>;
  conversations: Map<string, Conversation>;
  open: string;
  banner: Banner;
  problems: string[];
  /** The participant heard loudest now, as the engine's mix says. */
  speaking: string | null;
  /** Our own camera and microphone: muted (by us, or because the device stopped), and which
   * stopped and wait for another device to be picked. */
  own: { muted: Record<Media, boolean>; lost: Set<Media> };
}

export const PUBLIC = "public";

export function conversationKey(view: ConversationView): string {
  return view.kind === "public" ? PUBLIC : `private:${[...view.members].sort().join(",")}`;
}

export function newCallModel(): CallModel {
  const model: CallModel = {
    local: null,
    identity: null,
    people: new Map(),
    conversations: new Map(),
    open: PUBLIC,
    banner: { kind: "joining" },
    problems: [],
    speaking: null,
    own: { muted: { audio: false, video: false }, lost: new Set() },
  };
  conversation(model, { kind: "public" });
  return model;
}

function conversation(model: CallModel, view: ConversationView): Conversation {
  const key = conversationKey(view);
  let found = model.conversations.get(key);
  if (!found) {
    found = { key, view, lines: [], unread: 0 };
    model.conversations.set(key, found);
  }
  return found;
}

/** The private conversation between us and the person with `identity`. */
export function privateWith(model: CallModel, identity: string): Conversation | null {
  if (!model.identity || identity === model.identity) return null;
  return conversation(model, { kind: "private", members: [model.identity, identity].sort() });
}

export function openConversation(model: CallModel, key: string): void {
  const found = model.conversations.get(key);
  if (!found) return;
  model.open = key;
  found.unread = 0;
}

/** People in the room now (not us, not those who left). */
export function present(model: CallModel): Person[] {
  return [...model.people.values()].filter((p) => p.left === null);
}

function byIdentity(model: CallModel, identity: string): Person | undefined {
  const all = [...model.people.values()].filter((p) => p.identity === identity);
  return all.find((p) => p.left === null) ?? all[all.length - 1];
}

/** The other members of a private conversation, by name ("Ada", "Ada and Bo"). */
export function conversationTitle(model: CallModel, key: string): string {
  const found = model.conversations.get(key);
  if (!found || found.view.kind === "public") return "Everyone";
  const names = found.view.members
    .filter((m) => m !== model.identity)
    .map((m) => byIdentity(model, m)?.name ?? "someone who left");
  return names.length <= 1 ? names.join("") : `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
}

/** Another device now feeds `media`: if the old one had stopped, it is sent again (the caller
 * unmutes it); true when that is so. */
export function deviceReplaced(model: CallModel, media: Media): boolean {
  if (!model.own.lost.delete(media)) return false;
  model.own.muted[media] = false;
  return true;
}

/** The call has joined with `answer`'s devices, `asked` for: a medium with none ("none")
 * starts muted, and one whose device would not open counts as lost (picking another switches
 * it on). */
export function joinedWith(model: CallModel, asked: Pick<JoinAnswer, "camera" | "microphone">, answer: Pick<JoinAnswer, "camera" | "microphone">): void {
  for (const [media, role] of [["video", "camera"], ["audio", "microphone"]] as const) {
    model.own.muted[media] = answer[role] === "none";
    if (answer[role] === "none" && asked[role] !== "none") model.own.lost.add(media);
  }
}

/** Why sending to `key` is not possible now, or null if it is. */
export function cannotSend(model: CallModel, key: string): string | null {
  if (model.banner.kind === "ended") return "The call has ended.";
  const found = model.conversations.get(key);
  if (!found || found.view.kind === "public") return null;
  const gone = found.view.members.filter((m) => m !== model.identity && !present(model).some((p) => p.identity === m));
  if (gone.length === 0) return null;
  return `${conversationTitle(model, key)} left the call; this conversation is kept but cannot be continued.`;
}

function setMuted(person: Person, media: Media, muted: boolean): void {
  if (media === "audio") person.audioMuted = muted;
  else person.videoMuted = muted;
}

/** Inserts a line where its sender's order stamp puts it: a late message from someone goes
 * before their later ones; everyone else's lines keep their arrival place. */
function insertInOrder(lines: Line[], line: Line): void {
  const later = lines.findIndex((l) => l.fromIdentity === line.fromIdentity && l.order > line.order);
  if (later === -1) lines.push(line);
  else lines.splice(later, 0, line);
}

function findLine(model: CallModel, id: string): Line | undefined {
  for (const c of model.conversations.values()) {
    const line = c.lines.find((l) => l.own && l.id === id);
    if (line) return line;
  }
  return undefined;
}

export function applyEvent(model: CallModel, event: UiEvent): void {
  switch (event.kind) {
    case "joined":
      model.local = event.local;
      model.identity = event.identity;
      model.banner = { kind: "inCall" };
      break;
    case "participantJoined":
      model.people.set(event.participant.id, { ...event.participant, audioMuted: false, videoMuted: false, left: null });
      break;
    case "participantLeft": {
      const person = model.people.get(event.id);
      if (person) person.left = event.reason;
      break;
    }
    case "trackMuted": {
      const person = model.people.get(event.participant);
      if (person) setMuted(person, event.media, event.muted);
      break;
    }
    case "chat": {
      const target = conversation(model, event.message.conversation);
      if (target.lines.some((l) => l.id === event.message.id && l.fromIdentity === event.message.fromIdentity)) break;
      const message = event.message;
      const awaiting = message.own && target.view.kind === "private" ? target.view.members.filter((m) => m !== message.fromIdentity) : [];
      insertInOrder(target.lines, { ...message, delivery: awaiting.length > 0 ? "sending" : "delivered", awaiting });
      if (!event.message.own && model.open !== target.key) target.unread += 1;
      break;
    }
    case "chatDelivered": {
      const line = findLine(model, event.id);
      if (!line) break;
      line.awaiting = line.awaiting.filter((m) => m !== event.to);
      if (line.delivery === "sending" && line.awaiting.length === 0) line.delivery = "delivered";
      break;
    }
    case "chatNotDelivered": {
      const line = findLine(model, event.id);
      if (line) line.delivery = { notDelivered: event.reason };
      break;
    }
    case "reconnecting":
      model.banner = { kind: "reconnecting", attempt: event.attempt };
      break;
    case "activeSpeaker":
      model.speaking = event.participant;
      break;
    case "mediaInterrupted":
      model.banner = { kind: "mediaInterrupted" };
      break;
    case "mediaRestored":
      model.banner = { kind: "inCall" };
      break;
    case "deviceLost":
      model.problems.push(event.message);
      // Muted by us already: it stays so whatever device is picked next.
      if (!model.own.muted[event.media]) {
        model.own.muted[event.media] = true;
        model.own.lost.add(event.media);
      }
      break;
    case "problem":
      model.problems.push(event.message);
      break;
    case "ended":
      model.banner = { kind: "ended", reason: event.reason };
      break;
  }
}
