// ESLint for the page's modules (browser, with the vendor scripts' globals) and their unit
// tests (Node's test runner): `npx eslint static/js tests/js`.

import js from "@eslint/js";
import globals from "globals";

export default [
  // Copies and third-party code (the wheel's build/, the virtualenvs' bundled JS).
  { ignores: ["build/", "dist/", ".venv/", ".venv-bench/", "examples/**/build/"] },
  js.configs.recommended,
  {
    files: ["static/js/**/*.js"],
    languageOptions: {
      sourceType: "module",
      // Plotly and io come from the page's <script> tags (/vendor/plotly.min.js, socket.io).
      globals: { ...globals.browser, Plotly: "readonly", io: "readonly" },
    },
  },
  {
    files: ["tests/js/**/*.js", "eslint.config.js"],
    languageOptions: {
      sourceType: "module",
      globals: { ...globals.node },
    },
  },
];
