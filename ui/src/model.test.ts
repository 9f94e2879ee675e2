import { describe, expect, it } from "vitest";
import type { ChatView, UiEvent } from "./backend";
import { applyEvent, cannotSend, conversationKey, conversationTitle, deviceReplaced, newCallModel, openConversation, PUBLIC, privateWith, present } from "./model";

function joinedModel() {
  const model = newCallModel();
  const events: UiEvent[] = [
    { kind: "joined", local: "p-me", identity: "id-me" },
    { kind: "participantJoined", participant: { id: "p-ada", identity: "id-ada", name: "Ada" } },
    { kind: "participantJoined", participant: { id: "p-bo", identity: "id-bo", name: "Bo" } },
  ];
  for (const event of events) applyEvent(model, event);
  return model;
}

function message(id: string, overrides: Partial<ChatView>): ChatView {
  return { id, from: "p-ada", fromIdentity: "id-ada", fromName: "Ada", order: 1, conversation: { kind: "public" }, text: "hi", own: false, ...overrides };
}

describe("call model", () => {
  it("files a private message under its members and counts it unread until opened", () => {
    const model = joinedModel();
    applyEvent(model, { kind: "chat", message: message("m1", { conversation: { kind: "private", members: ["id-me", "id-ada"] } }) });
    const ada = privateWith(model, "id-ada");
    expect(ada?.lines.map((l) => l.id)).toEqual(["m1"]);
    expect(model.conversations.get(PUBLIC)?.lines).toEqual([]);
    expect(ada?.unread).toBe(1);
    openConversation(model, ada!.key);
    expect(ada?.unread).toBe(0);
    expect(conversationTitle(model, ada!.key)).toBe("Ada");
  });

  it("keeps a conversation with someone who left, but says it cannot go on", () => {
    const model = joinedModel();
    const ada = privateWith(model, "id-ada")!;
    applyEvent(model, { kind: "chat", message: message("m1", { conversation: ada.view }) });
    expect(cannotSend(model, ada.key)).toBeNull();
    applyEvent(model, { kind: "participantLeft", id: "p-ada", reason: "left the call" });
    expect(present(model).map((p) => p.name)).toEqual(["Bo"]);
    expect(cannotSend(model, ada.key)).toContain("Ada left the call");
    expect(ada.lines).toHaveLength(1);
    expect(cannotSend(model, PUBLIC)).toBeNull();
  });

  it("follows a rejoined identity into the same conversation", () => {
    const model = joinedModel();
    const ada = privateWith(model, "id-ada")!;
    applyEvent(model, { kind: "participantLeft", id: "p-ada", reason: "lost their connection" });
    applyEvent(model, { kind: "participantJoined", participant: { id: "p-ada2", identity: "id-ada", name: "Ada" } });
    expect(cannotSend(model, ada.key)).toBeNull();
    applyEvent(model, { kind: "chat", message: message("m2", { from: "p-ada2", conversation: { kind: "private", members: ["id-ada", "id-me"] } }) });
    expect(ada.lines.map((l) => l.id)).toEqual(["m2"]);
  });

  it("tracks our private message from sending to delivered or not delivered", () => {
    const model = joinedModel();
    const view = { kind: "private" as const, members: ["id-bo", "id-me"] };
    applyEvent(model, { kind: "chat", message: message("m3", { own: true, from: "p-me", fromIdentity: "id-me", conversation: view }) });
    applyEvent(model, { kind: "chat", message: message("m4", { own: true, from: "p-me", fromIdentity: "id-me", conversation: view }) });
    const bo = privateWith(model, "id-bo")!;
    expect(bo.lines.map((l) => l.delivery)).toEqual(["sending", "sending"]);
    expect(bo.unread).toBe(0);
    applyEvent(model, { kind: "chatDelivered", id: "m3", to: "id-bo" });
    applyEvent(model, { kind: "chatNotDelivered", id: "m4", reason: "Bo left" });
    expect(bo.lines.map((l) => l.delivery)).toEqual(["delivered", { notDelivered: "Bo left" }]);
  });

  it("marks a message to several people delivered only when every one of them acknowledged it", () => {
    const model = joinedModel();
    const view = { kind: "private" as const, members: ["id-ada", "id-bo", "id-me"] };
    applyEvent(model, { kind: "chat", message: message("m5", { own: true, from: "p-me", fromIdentity: "id-me", conversation: view }) });
    const line = model.conversations.get(conversationKey(view))!.lines[0];
    applyEvent(model, { kind: "chatDelivered", id: "m5", to: "id-ada" });
    expect(line.delivery).toBe("sending");
    expect(line.awaiting).toEqual(["id-bo"]);
    applyEvent(model, { kind: "chatDelivered", id: "m5", to: "id-bo" });
    expect(line.delivery).toBe("delivered");
  });

  it("keeps each sender's lines in their sending order whatever order they arrive in", () => {
    const model = joinedModel();
    const bo = { from: "p-bo", fromIdentity: "id-bo", fromName: "Bo" };
    applyEvent(model, { kind: "chat", message: message("a1", { order: 10 }) });
    applyEvent(model, { kind: "chat", message: message("b1", { ...bo, order: 5 }) });
    applyEvent(model, { kind: "chat", message: message("a3", { order: 30 }) });
    applyEvent(model, { kind: "chat", message: message("a2", { order: 20 }) });
    expect(model.conversations.get(PUBLIC)?.lines.map((l) => l.id)).toEqual(["a1", "b1", "a2", "a3"]);
  });

  it("shows mute state and the connection banner as the engine reports them", () => {
    const model = joinedModel();
    applyEvent(model, { kind: "trackMuted", participant: "p-bo", media: "audio", muted: true });
    expect(model.people.get("p-bo")?.audioMuted).toBe(true);
    applyEvent(model, { kind: "reconnecting", attempt: 2 });
    expect(model.banner).toEqual({ kind: "reconnecting", attempt: 2 });
    applyEvent(model, { kind: "ended", reason: "You left the call." });
    expect(cannotSend(model, PUBLIC)).toBe("The call has ended.");
  });
});

describe("active speaker", () => {
  it("follows the engine's mix and clears when nobody speaks", () => {
    const model = joinedModel();
    applyEvent(model, { kind: "activeSpeaker", participant: "p-bo" });
    expect(model.speaking).toBe("p-bo");
    applyEvent(model, { kind: "activeSpeaker", participant: null });
    expect(model.speaking).toBeNull();
  });
});

describe("our own devices", () => {
  it("a camera that stops mutes our video and says so; another camera picked turns it back on", () => {
    const model = joinedModel();
    applyEvent(model, { kind: "deviceLost", media: "video", message: "The camera stopped working. Your video is off until you pick a camera." });
    expect(model.own.muted).toEqual({ audio: false, video: true });
    expect(model.problems).toEqual(["The camera stopped working. Your video is off until you pick a camera."]);
    expect(deviceReplaced(model, "audio")).toBe(false);
    expect(deviceReplaced(model, "video")).toBe(true);
    expect(model.own.muted.video).toBe(false);
  });

  it("a device switched while we muted ourselves keeps us muted, even if the old one stopped", () => {
    const model = joinedModel();
    model.own.muted.audio = true;
    expect(deviceReplaced(model, "audio")).toBe(false);
    applyEvent(model, { kind: "deviceLost", media: "audio", message: "The microphone stopped working." });
    expect(deviceReplaced(model, "audio")).toBe(false);
    expect(model.own.muted.audio).toBe(true);
  });
});
