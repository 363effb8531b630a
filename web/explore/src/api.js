// The page is a client of /graphql like any other: one POST per request, the token (if any) as a bearer.
export class ApiError extends Error {
  constructor(errors) {
    super(errors.map((e) => e.message).join("; "));
    this.errors = errors;
    this.code = errors[0]?.extensions?.code;
  }
}

export function token() {
  return sessionStorage.getItem("citypeers-token") || "";
}

export function setToken(value) {
  if (value) sessionStorage.setItem("citypeers-token", value);
  else sessionStorage.removeItem("citypeers-token");
}

// Returns data; throws ApiError when the answer has errors (partial data on it as .data).
export async function gql(query, variables = {}, { partial = false } = {}) {
  const headers = { "content-type": "application/json" };
  if (token()) headers.authorization = `Bearer ${token()}`;
  const response = await fetch("/graphql", { method: "POST", headers, body: JSON.stringify({ query, variables }) });
  const body = await response.json().catch(() => ({ errors: [{ message: `HTTP ${response.status}` }] }));
  if (body.errors?.length && !(partial && body.data)) {
    const error = new ApiError(body.errors);
    error.data = body.data;
    throw error;
  }
  return partial ? { data: body.data, errors: body.errors || [] } : body.data;
}
