// Run before the first paint (a classic script in <head>): the remembered theme choice
// (theme.js keeps it under the same key), so a page never flashes the other theme.
(function applyStoredTheme() {
  try {
    var choice = window.localStorage.getItem("dashboard.theme");
    if (choice === "light" || choice === "dark") document.documentElement.dataset.theme = choice;
  } catch {
    // Storage refused: the system's preference applies (CSS light-dark()).
  }
}());
