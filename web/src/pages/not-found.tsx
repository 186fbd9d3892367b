/** Any admin path without a page of its own. */
export function NotFound() {
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        There is no admin page here. <a href="/admin/">Back to the overview</a>.
      </p>
    </section>
  );
}
