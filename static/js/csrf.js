// The page's CSRF token (the csrf-token meta tag of templates/base.html). The server refuses a
// POST, PUT or DELETE that carries neither it nor a JSON body, so every such fetch sends it.
export function csrfHeaders(headers = {}) {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta && meta.content ? { ...headers, "X-CSRF-Token": meta.content } : { ...headers };
}
