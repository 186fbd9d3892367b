/** JSON error bodies of the auth APIs ({error, error_description}, modules.md section 6). */
export function authError(error: string, description: string) {
  return { error, error_description: description };
}
