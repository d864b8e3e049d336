// Signing in, the same on the dashboard and in the volunteers' app: a sign-in link (#token=...)
// or a pasted token; an expired or refused token asks again, saying why.
import {
  ApiError, DIRECTORY, NetworkError, call, claimsOf, forgetToken, setToken, takeTokenFromAddress,
  token,
} from "./api.js";
import { errorText, h } from "./dom.js";
import { ROLE_WORDS } from "./words.js";

function signInView(main, problem, retry) {
  const field = h("input", { id: "token", type: "password", autocomplete: "off", required: true });
  main.replaceChildren(h("div", {},
    h("h1", {}, "Sign in"),
    problem ? h("p", { className: "error", role: "alert" }, problem) : null,
    h("p", {}, "Open the sign-in link you were given (your coordinator or ",
      h("code", {}, "peerwellctl dashboard-url"), " prints one), or paste your access token."),
    h("form", {
      onsubmit: (event) => {
        event.preventDefault();
        setToken(field.value.trim());
        retry();
      },
    }, h("label", { for: "token" }, "Access token"), field,
       h("div", { className: "actions" }, h("button", { type: "submit" }, "Sign in")))));
}

// Shows the page of the signed-in person: `show(claims, person)`, or the sign-in form. The
// header's `who` names them; `signOut` forgets the token. `personStore` ({get(id), set(person)})
// keeps who signed in, so that a page opened without a connection still knows them.
export async function startSignedIn({ main, who, signOut, show, personStore }) {
  const retry = () => startSignedIn({ main, who, signOut, show, personStore });
  takeTokenFromAddress();
  signOut.onclick = () => {
    forgetToken();
    location.reload();
  };
  const claims = claimsOf(token());
  const signedOut = (problem) => {
    forgetToken();
    who.textContent = "";
    signOut.hidden = true;
    signInView(main, problem, retry);
  };
  if (!claims) return signedOut();
  if (claims.exp && claims.exp * 1000 < Date.now()) {
    return signedOut("Your sign-in has expired. Open a new sign-in link.");
  }
  signOut.hidden = false;
  let person;
  try {
    ({ person } = await call(DIRECTORY, "GetPerson", { personId: claims.sub }));
    personStore?.set(person);
  } catch (error) {
    if (error instanceof ApiError && error.code === "unauthenticated") {
      return signedOut("That sign-in did not work. Open a new sign-in link.");
    }
    // No answer at all (offline): the person kept from last time, if any.
    person = error instanceof NetworkError ? personStore?.get(claims.sub) : null;
    if (!person) return main.replaceChildren(errorText(error));
  }
  who.textContent =
    `Signed in as ${person.displayName} (${ROLE_WORDS[person.role] || claims.role})`;
  try {
    await show(claims, person);
  } catch (error) {
    main.replaceChildren(errorText(error));
  }
}
