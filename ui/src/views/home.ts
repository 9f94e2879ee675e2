// Home: start a meeting on this computer, or open a link.
import { el } from "../dom";

export interface HomeActions {
  newMeeting(): void;
  openLink(text: string): void;
}

export function homeView(actions: HomeActions, error: string | null): HTMLElement {
  const input = el("input", { id: "link-input", type: "text", placeholder: "confab://… meeting link", "aria-label": "Meeting link" });
  const open = () => actions.openLink(input.value);
  input.addEventListener("keydown", (event) => {
    if ((event as KeyboardEvent).key === "Enter") open();
  });
  return el(
    "section",
    { class: "screen home", id: "home" },
    el("h1", {}, "Confab"),
    el("button", { id: "new-meeting", class: "primary", onclick: () => actions.newMeeting() }, "New meeting on this computer"),
    el("div", { class: "or" }, "or join with a link"),
    el("div", { class: "row" }, input, el("button", { id: "open-link", onclick: open }, "Join")),
    error ? el("p", { class: "error", id: "home-error", role: "alert" }, error) : null,
  );
}
