import { isJsonType, prettyBody } from '~/lib/hooks';

/** A delivery's stored body as text, indented when it is JSON. */
export function DeliveryBody({
  body,
  contentType,
  truncated,
}: {
  body: string | undefined;
  contentType: string | undefined;
  truncated: boolean;
}) {
  if (body == null || body === '') return <p class="muted">No body.</p>;
  const shown = prettyBody(body);
  return (
    <>
      {truncated && (
        <p class="muted">
          The body was too large to keep whole: only its beginning is shown, and it cannot be
          replayed.
        </p>
      )}
      {!shown.json && !truncated && isJsonType(contentType) && (
        <p class="muted">The content type says JSON, but the body does not parse as JSON.</p>
      )}
      <pre class="delivery-body" data-testid="delivery-body" data-json={shown.json}>
        {shown.text}
      </pre>
    </>
  );
}
