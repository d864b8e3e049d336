// Building pages from the services' answers: every text goes in as text, never as markup.

import { ApiError, NetworkError } from "./api.js";

// h("button", {type: "button", onclick}, "Acknowledge"): an element with properties (event
// handlers as functions, the rest as attributes) and children (strings become text nodes).
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "className") element.className = value;
    else element.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

export function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  for (const child of children.flat()) {
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

export function announce(text) {
  const announcer = document.getElementById("announcer");
  announcer.textContent = "";
  setTimeout(() => { announcer.textContent = text; }, 50);
}

export function card(title, id, ...content) {
  return h("section", { className: "card", "aria-labelledby": id },
           h("h2", { id }, title), ...content);
}

export function errorText(error) {
  return h("p", { className: "error", role: "alert" },
           error instanceof ApiError ? `Could not load this: ${error.message}`
             : error instanceof NetworkError ? "Could not reach PeerWell: check your connection."
             : String(error));
}
