// The "Token" button: fetch a fresh token for the logged-in user and keep it
// in localStorage, where a page of the fruits service can pick it up.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const button = document.getElementById("token-button");
  const status = document.getElementById("token-status");
  if (!button || !status) {
    return;
  }
  button.addEventListener("click", async () => {
    status.textContent = "";
    try {
      const response = await fetch("/token", { credentials: "same-origin" });
      if (!response.ok) {
        throw new Error(`the server answered ${response.status}`);
      }
      localStorage.setItem("token", (await response.text()).trim());
      status.textContent = "Token stored";
    } catch (error) {
      status.textContent = `Could not get a token: ${error.message}`;
    }
  });
});
