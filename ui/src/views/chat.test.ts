import { describe, expect, it, vi } from "vitest";
import { applyEvent, newCallModel, openConversation, privateWith } from "../model";
import { shortcut } from "./call";
import { ChatPanel } from "./chat";

function model() {
  const m = newCallModel();
  applyEvent(m, { kind: "joined", local: "p-me", identity: "id-me" });
  applyEvent(m, { kind: "participantJoined", participant: { id: "p-ada", identity: "id-ada", name: "Ada" } });
  return m;
}

describe("chat panel", () => {
  it("marks our private message as private to its recipient and sends to the open conversation", () => {
    const m = model();
    const ada = privateWith(m, "id-ada")!;
    openConversation(m, ada.key);
    applyEvent(m, {
      kind: "chat",
      message: { id: "m1", from: "p-me", fromIdentity: "id-me", fromName: "Me", order: 1, conversation: ada.view, text: "psst", own: true },
    });
    const send = vi.fn();
    const chat = new ChatPanel({ openConversation: vi.fn(), send });
    chat.update(m);
    const panel = chat.root;
    expect(panel.querySelector(".line .private-mark")?.textContent).toBe("private to Ada");
    const input = panel.querySelector<HTMLInputElement>("#chat-input")!;
    input.value = "again";
    panel.querySelector<HTMLButtonElement>("#chat-send")!.click();
    expect(send).toHaveBeenCalledWith(ada.key, "again");
  });

  it("disables the composer once the other person left, keeping the history", () => {
    const m = model();
    const ada = privateWith(m, "id-ada")!;
    applyEvent(m, { kind: "chat", message: { id: "m1", from: "p-ada", fromIdentity: "id-ada", fromName: "Ada", order: 1, conversation: ada.view, text: "bye", own: false } });
    applyEvent(m, { kind: "participantLeft", id: "p-ada", reason: "left the call" });
    openConversation(m, ada.key);
    const chat = new ChatPanel({ openConversation: vi.fn(), send: vi.fn() });
    chat.update(m);
    const panel = chat.root;
    expect(panel.querySelector<HTMLInputElement>("#chat-input")!.disabled).toBe(true);
    expect(panel.querySelector("#chat-closed")?.textContent).toContain("Ada left the call");
    expect(panel.querySelectorAll(".line")).toHaveLength(1);
  });

  it("shows unread counts on tabs that are not open", () => {
    const m = model();
    const ada = privateWith(m, "id-ada")!;
    applyEvent(m, { kind: "chat", message: { id: "m1", from: "p-ada", fromIdentity: "id-ada", fromName: "Ada", order: 1, conversation: ada.view, text: "hi", own: false } });
    const chat = new ChatPanel({ openConversation: vi.fn(), send: vi.fn() });
    chat.update(m);
    const panel = chat.root;
    expect(panel.querySelector(`.tab[data-key="${ada.key}"] .badge`)?.textContent).toBe("1");
  });
});

describe("keyboard shortcuts", () => {
  it("Ctrl+D mutes the microphone, Ctrl+E the camera, Ctrl+Shift+L leaves", () => {
    expect(shortcut(new KeyboardEvent("keydown", { key: "d", ctrlKey: true }))).toBe("mic");
    expect(shortcut(new KeyboardEvent("keydown", { key: "e", ctrlKey: true }))).toBe("camera");
    expect(shortcut(new KeyboardEvent("keydown", { key: "L", ctrlKey: true, shiftKey: true }))).toBe("leave");
    expect(shortcut(new KeyboardEvent("keydown", { key: "d" }))).toBeNull();
  });
});
