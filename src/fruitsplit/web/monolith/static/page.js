// The page's behaviour beyond plain forms:
// - the "Token" button fetches a fresh token for the logged-in user and keeps it in
//   localStorage, where a page of the fruits service can pick it up;
// - after cut-over, when the fruits service has a public address, the page talks to
//   it directly with that token (CORS), and shows a clear error and a retry when the
//   service does not answer.
"use strict";

const SERVICE_PHASES = new Set(["service-primary", "service-only"]);

async function fetchToken() {
  const response = await fetch("/token", { credentials: "same-origin" });
  if (!response.ok) {
    throw new Error(`the server answered ${response.status}`);
  }
  const token = (await response.text()).trim();
  localStorage.setItem("token", token);
  return token;
}

function showListError(text) {
  const error = document.getElementById("fruits-error");
  const retry = document.getElementById("fruits-retry");
  error.textContent = text;
  error.hidden = !text;
  retry.hidden = !text;
}

async function loadFruitsFrom(endpoint) {
  try {
    const response = await fetch(`${endpoint}/`);
    if (!response.ok) {
      throw new Error(`it answered ${response.status}`);
    }
    const list = document.getElementById("fruits");
    list.replaceChildren(
      ...(await response.json()).map(({ username, fruit }) => {
        const item = document.createElement("li");
        item.textContent = `${username}: ${fruit}`;
        return item;
      }),
    );
    showListError("");
  } catch (error) {
    showListError(`The fruits service is not answering (${error.message}).`);
  }
}

async function saveFruitAt(endpoint, form) {
  const token = await fetchToken();
  const response = await fetch(`${endpoint}/fruit`, {
    method: "PUT",
    headers: { "X-Auth-Token": token },
    body: new URLSearchParams({ fruit: new FormData(form).get("fruit") }),
  });
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw new Error(body.error || `the fruits service answered ${response.status}`);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const endpoint = document.body.dataset.fruitsEndpoint;
  const direct = Boolean(endpoint) && SERVICE_PHASES.has(document.body.dataset.phase);

  const button = document.getElementById("token-button");
  const status = document.getElementById("token-status");
  button?.addEventListener("click", async () => {
    status.textContent = "";
    try {
      await fetchToken();
      status.textContent = "Token stored";
    } catch (error) {
      status.textContent = `Could not get a token: ${error.message}`;
    }
  });

  const retry = document.getElementById("fruits-retry");
  retry.addEventListener("click", () => {
    if (direct) {
      loadFruitsFrom(endpoint);
    } else {
      window.location.reload();
    }
  });

  const form = document.querySelector('form[action="/fruit"]');
  if (direct && form) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await saveFruitAt(endpoint, form);
        await loadFruitsFrom(endpoint);
      } catch (error) {
        showListError(`Could not save your fruit: ${error.message}`);
      }
    });
  }
});
