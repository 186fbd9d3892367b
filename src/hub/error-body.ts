/** The JSON error shape of every hub API (modules.md section 6). */
export function errorBody(error: string, description: string) {
  return { error, error_description: description };
}
