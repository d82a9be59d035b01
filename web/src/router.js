// Navigation and the session, shared by the shell and the pages: pages import this
// module, never the shell (main.js), so no page depends on the app that mounts it.

/** The signed-in user; `local` when this build has no accounts (everyone is admin). */
export const session = { user: null, local: false };

let renderer = () => {};

/** The shell registers the function that draws the page for the current path. */
export function onNavigate(fn) {
  renderer = fn;
}

/** Goes to a path inside the app. */
export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  renderer();
}

/** Whether the current user may use the admin pages. */
export function isAdmin() {
  return session.local || !!session.user?.is_admin;
}

/** Called by the sign-in pages once a user is signed in. */
export function signedIn(user, next = '/') {
  session.user = user;
  navigate(next.startsWith('/') && !next.startsWith('//') ? next : '/', { replace: true });
}
