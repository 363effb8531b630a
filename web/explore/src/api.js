// The page is a client of /graphql like any other: one POST per request, the token (if any) as a bearer.
export class ApiError extends Error {
  constructor(errors) {
    super(errors.map((e) => e.message).join("; "));
    this.errors = errors;
    this.code = errors[0]?.extensions?.code;
  }
}

const failure = (message, code) => new ApiError([{ message, extensions: { code } }]);

export function token() {
  return sessionStorage.getItem("citypeers-token") || "";
}

export function setToken(value) {
  if (value) sessionStorage.setItem("citypeers-token", value);
  else sessionStorage.removeItem("citypeers-token");
}

// Called once when the server refuses the token (unknown, revoked, expired): the page then browses without it.
let refused = () => {};
export function onTokenRefused(callback) {
  refused = callback;
}

async function post(query, variables, bearer) {
  const headers = { "content-type": "application/json" };
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  try {
    return await fetch("/graphql", { method: "POST", headers, body: JSON.stringify({ query, variables }) });
  } catch {
    throw failure("The server could not be reached: check the connection and try again.", "UNREACHABLE");
  }
}

// Returns data; throws ApiError when the answer has errors (partial data on it as .data).
export async function gql(query, variables = {}, { partial = false } = {}) {
  const sent = token();
  const response = await post(query, variables, sent);
  if (response.status === 401 && sent) { // a token the server does not accept: drop it, ask again without
    if (token() === sent) { setToken(""); refused(); }
    return gql(query, variables, { partial });
  }
  if (response.status === 401) throw failure("This server needs a token to browse: paste one in the Token field.", "UNAUTHENTICATED");
  const body = await response.json()
    .catch(() => ({ errors: [{ message: `The server answered HTTP ${response.status}: try again.` }] }));
  if (body.errors?.length && !(partial && body.data)) {
    const error = new ApiError(body.errors);
    error.data = body.data;
    throw error;
  }
  return partial ? { data: body.data, errors: body.errors || [] } : body.data;
}
