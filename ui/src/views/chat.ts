// The chat panel: one tab per conversation with unread badges, the open conversation's lines
// (private ones visibly marked), and a composer that is disabled when the conversation cannot
// be continued.
import { el } from "../dom";
import { PUBLIC, cannotSend, conversationTitle, type CallModel, type Line } from "../model";

export interface ChatActions {
  openConversation(key: string): void;
  send(key: string, text: string): void;
}

function deliveryNote(line: Line): string {
  if (!line.own || line.delivery === "delivered") return line.own && line.conversation.kind === "private" ? "delivered" : "";
  if (line.delivery === "sending") {
    const members = line.conversation.kind === "private" ? line.conversation.members.length - 1 : 0;
    const acknowledged = members - line.awaiting.length;
    return acknowledged > 0 ? `delivered to ${acknowledged} of ${members}` : "sending…";
  }
  return `not delivered: ${line.delivery.notDelivered}`;
}

function lineView(model: CallModel, key: string, line: Line): HTMLElement {
  const privateMark =
    line.conversation.kind === "private"
      ? el("span", { class: "private-mark" }, line.own ? `private to ${conversationTitle(model, key)}` : "private to you")
      : null;
  return el(
    "li",
    { class: `line${line.own ? " own" : ""}`, "data-conversation": key },
    el("div", { class: "meta" }, el("strong", {}, line.own ? "You" : line.fromName), privateMark, el("span", { class: "delivery" }, deliveryNote(line))),
    el("div", { class: "text" }, line.text),
  );
}

/** The panel; its composer stays the same element across updates, so typing is never lost. */
export class ChatPanel {
  readonly root = el("aside", { class: "chat", id: "chat" });
  private readonly tabs = el("nav", { id: "chat-tabs", class: "tabs" });
  private readonly lines = el("ul", { id: "chat-lines" });
  private readonly closed = el("p", { id: "chat-closed", class: "notes", hidden: true });
  private readonly input = el("input", { id: "chat-input", type: "text", "aria-label": "Message" });
  private readonly sendButton = el("button", { id: "chat-send" }, "Send");
  private open = PUBLIC;

  constructor(private readonly actions: ChatActions) {
    const send = () => {
      if (this.input.value.trim() === "") return;
      this.actions.send(this.open, this.input.value);
      this.input.value = "";
    };
    this.sendButton.addEventListener("click", send);
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") send();
    });
    this.root.append(this.tabs, this.lines, this.closed, el("div", { class: "row" }, this.input, this.sendButton));
  }

  update(model: CallModel): void {
    this.open = model.open;
    this.tabs.replaceChildren(
      ...[...model.conversations.values()].map((conversation) =>
        el(
          "button",
          {
            class: `tab${conversation.key === model.open ? " active" : ""}`,
            "data-key": conversation.key,
            onclick: () => this.actions.openConversation(conversation.key),
          },
          conversation.key === PUBLIC ? "Everyone" : conversationTitle(model, conversation.key),
          conversation.unread > 0 ? el("span", { class: "badge" }, String(conversation.unread)) : null,
        ),
      ),
    );
    const open = model.conversations.get(model.open);
    this.lines.replaceChildren(...(open?.lines ?? []).map((line) => lineView(model, model.open, line)));
    const closed = cannotSend(model, model.open);
    this.closed.textContent = closed ?? "";
    this.closed.hidden = closed === null;
    this.input.disabled = closed !== null;
    this.sendButton.disabled = closed !== null;
    this.input.placeholder =
      model.open === PUBLIC ? "Message everyone" : `Message ${conversationTitle(model, model.open)} privately`;
  }
}
