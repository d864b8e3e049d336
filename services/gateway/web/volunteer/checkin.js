// A check-in as a volunteer makes it on a phone: one question at a time with large labelled
// choices, the optional private note last, and the scores told back in words beside the
// volunteer's own usual level. The after-session pulse is one screen.
import { CHECKIN, call } from "../shared/api.js";
import { h } from "../shared/dom.js";
import { trendChart } from "../shared/trends.js";

// What each score means, for telling it back; `range` is the scale's lowest and highest score.
export const SCALES = {
  who5: { name: "Wellbeing (WHO-5)", range: [0, 100], hint: "higher means feeling better" },
  cbi_personal: { name: "Personal burnout (CBI)", range: [0, 100],
                  hint: "higher means more worn out" },
  cbi_volunteering: { name: "Volunteering-related burnout (CBI)", range: [0, 100],
                      hint: "higher means more worn out by the volunteering" },
  cbi_people_supported: { name: "Burnout from supporting people (CBI)", range: [0, 100],
                          hint: "higher means more worn out by the people you support" },
  proqol_compassion_satisfaction: { name: "Compassion satisfaction (ProQOL)", range: [10, 50],
                                    hint: "higher means more satisfaction from helping" },
  proqol_burnout: { name: "Burnout (ProQOL)", range: [10, 50],
                    hint: "higher means more worn out" },
  proqol_secondary_traumatic_stress: { name: "Secondary traumatic stress (ProQOL)",
                                       range: [10, 50],
                                       hint: "higher means others' trauma stays with you more" },
  swemwbs: { name: "Mental wellbeing (SWEMWBS)", range: [7, 35],
             hint: "higher means feeling better" },
};

export const SESSION_KINDS = [
  ["group", "A group"],
  ["one_to_one", "One-to-one support"],
  ["phone", "Phone or online support"],
  ["other", "Something else"],
];

// An item's options as radio buttons named `name`; the answer is read from the form when it is
// needed (a browser may check a radio without a change event, e.g. as the keyboard enters it).
function choices(name, item, chosen) {
  return h("div", { className: "choices" }, item.options.map((option) => {
    const value = option.value ?? 0;  // protobuf's JSON leaves out zeros
    const id = `${name}-${value}`;
    return h("div", { className: "choice" },
      h("input", { type: "radio", id, name, value: String(value), checked: chosen === value }),
      h("label", { for: id }, option.label));
  }));
}

function chosenValue(container, name) {
  const checked = container.querySelector(`input[name="${name}"]:checked`);
  return checked ? Number(checked.value) : undefined;
}

// The instrument's source and terms, shown with it.
function attribution(instrument) {
  return h("footer", { className: "attribution muted" },
    instrument.adaptation ? h("p", {}, instrument.adaptation) : null,
    h("p", {}, instrument.attribution),
    instrument.licence ? h("p", {}, `Terms of use: ${instrument.licence}`) : null);
}

// Checking in with `instrument`, item by item. `send(request)` resolves with the service's
// answer, or null when the check-in waits on this phone for the connection.
export function checkinView(instrument, { send, onDone }) {
  const answers = new Map();
  let step = 0;
  const items = instrument.items || [];
  const total = items.length + 1;  // and the note
  const body = h("div");
  const feedback = h("p", { className: "error", role: "alert" });
  const progress = h("progress", { max: String(total), value: "1", "aria-labelledby": "progress" });
  const progressText = h("p", { id: "progress", className: "muted" });
  const note = h("textarea", { id: "checkin-note", maxlength: "2000",
                               "aria-describedby": "checkin-note-help" });

  function show() {
    feedback.textContent = "";
    progress.value = step + 1;
    progressText.textContent = step < items.length
      ? `Question ${step + 1} of ${items.length}` : "Last step: a note, if you like";
    const back = step > 0 ? h("button", {
      type: "button", className: "secondary",
      onclick: () => {
        const item = items[step];
        const value = item && chosenValue(body, `item-${item.itemId}`);
        if (value !== undefined) answers.set(item.itemId, value);
        go(step - 1);
      },
    }, "Back") : null;
    if (step < items.length) {
      const item = items[step];
      const name = `item-${item.itemId}`;
      body.replaceChildren(
        h("fieldset", { className: "question" },
          h("legend", { id: "question", tabindex: "-1" }, item.text),
          item.required ? null : h("p", { className: "muted" }, "You may leave this one out."),
          choices(name, item, answers.get(item.itemId))),
        h("div", { className: "actions" }, back,
          h("button", {
            type: "button",
            onclick: () => {
              const value = chosenValue(body, name);
              if (value === undefined) {
                if (item.required) {
                  feedback.textContent = "Choose an answer to go on.";
                  return;
                }
                answers.delete(item.itemId);
              } else {
                answers.set(item.itemId, value);
              }
              go(step + 1);
            },
          }, "Next")));
    } else {
      body.replaceChildren(
        h("label", { for: note.id, id: "question", tabindex: "-1" }, "A private note (optional)"),
        h("p", { id: "checkin-note-help", className: "muted" },
          "Only you can read this. It is stored encrypted; your supervisor never sees it."),
        note,
        h("div", { className: "actions" }, back,
          h("button", { type: "button", onclick: submit }, "Send check-in")));
    }
  }

  function go(next) {
    step = next;
    show();
    body.querySelector("#question")?.focus();
  }

  async function submit(event) {
    const button = event.currentTarget;
    button.disabled = true;
    try {
      const request = {
        instrumentId: instrument.instrumentId,
        answers: [...answers].map(([itemId, value]) => ({ itemId, value })),
        note: note.value.trim(),
      };
      onDone(await send(request));
    } catch (error) {
      feedback.textContent = `Your check-in was not accepted: ${error.message}`;
      button.disabled = false;
    }
  }

  show();
  return h("div", { className: "checkin" },
    h("h1", { tabindex: "-1" }, instrument.title),
    instrument.instruction ? h("p", {}, instrument.instruction) : null,
    instrument.recallPeriod
      ? h("p", { className: "recall" }, `Thinking about ${instrument.recallPeriod}.`) : null,
    progressText, progress, body, feedback, attribution(instrument));
}

// The after-session pulse: energy, whether something stayed, whether to talk, and a little
// context, on one screen.
export function pulseView(instrument, { send, onDone }) {
  const feedback = h("p", { className: "error", role: "alert" });
  const hours = h("input", { id: "pulse-hours", type: "number", min: "0", max: "24", step: "0.5",
                             inputmode: "decimal" });
  const kind = h("select", { id: "pulse-kind" }, h("option", { value: "" }, "Not saying"),
                 SESSION_KINDS.map(([value, words]) => h("option", { value }, words)));
  const form = h("form", {
    onsubmit: async (event) => {
      event.preventDefault();
      const answers = new Map((instrument.items || []).map((item) =>
        [item.itemId, chosenValue(form, `item-${item.itemId}`)]));
      const missing = (instrument.items || [])
        .find((item) => answers.get(item.itemId) === undefined);
      if (missing) {
        feedback.textContent = `Answer “${missing.text}” to send the pulse.`;
        form.querySelector(`input[name="item-${missing.itemId}"]`)?.focus();
        return;
      }
      const hoursValue = hours.value === "" ? 0 : Number(hours.value);
      if (!(hoursValue >= 0 && hoursValue <= 24)) {
        feedback.textContent = "Hours must be between 0 and 24.";
        hours.focus();
        return;
      }
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        const answer = await send({
          instrumentId: instrument.instrumentId,
          answers: [...answers].map(([itemId, value]) => ({ itemId, value })),
          context: { sessionKind: kind.value, hours: hoursValue },
        });
        onDone(answer, answers.get("want_to_talk") === 1);
      } catch (error) {
        feedback.textContent = `Your pulse was not accepted: ${error.message}`;
        button.disabled = false;
      }
    },
  },
  (instrument.items || []).map((item) => h("fieldset", { className: "question" },
    h("legend", {}, item.text),
    choices(`item-${item.itemId}`, item))),
  h("div", { className: "context" },
    h("div", {}, h("label", { for: kind.id }, "The session was"), kind),
    h("div", {}, h("label", { for: hours.id }, "Hours today (optional)"), hours)),
  h("div", { className: "actions" }, h("button", { type: "submit" }, "Send pulse")),
  feedback);
  return h("div", { className: "checkin" },
    h("h1", { tabindex: "-1" }, instrument.title),
    h("p", {}, instrument.instruction), form, attribution(instrument));
}

// How a check-in went, told back: each score with what it means and where it stands against
// the volunteer's own usual level; never a verdict.
export async function resultView(checkin) {
  const scores = (checkin.scores || []).filter((score) => SCALES[score.scaleId]);
  const parts = [];
  for (const score of scores) {
    const scale = SCALES[score.scaleId];
    const value = Math.round(score.value ?? 0);
    const section = h("section", { className: "score", "aria-label": scale.name },
      h("h2", {}, scale.name),
      h("p", { className: "value" }, `${value} `,
        h("span", { className: "muted" }, `on a scale from ${scale.range[0]} to ${scale.range[1]}`)),
      h("p", { className: "muted" }, `On this scale ${scale.hint}.`));
    try {
      const trend = await call(CHECKIN, "GetTrend",
                               { scaleId: score.scaleId, window: `${180 * 86400}s` });
      if (trend.hasBaseline) {
        const baseline = trend.baseline ?? 0;
        const change = Math.round(value - baseline);
        section.append(h("p", {},
          `Your usual level over the last months is ${Math.round(baseline)}; this one is ` +
          (change === 0 ? "the same." : `${Math.abs(change)} ${change > 0 ? "higher" : "lower"}.`)));
      } else {
        section.append(h("p", {}, "This is the first score of its kind: your usual level shows " +
                                  "once you have checked in a few times."));
      }
      if ((trend.points || []).length > 1) {
        section.append(trendChart(`Your ${scale.name} over time`, scale.hint, trend, scale.range));
      }
    } catch {
      // The score alone still says what it is.
    }
    parts.push(section);
  }
  return parts;
}
