import { headerEntries } from '~/lib/hooks';

/** A delivery's request headers (credentials already removed by the server). */
export function HeaderTable({ headers }: { headers: unknown }) {
  const rows = headerEntries(headers);
  if (rows.length === 0) return <p class="muted">No headers were stored.</p>;
  return (
    <table class="list headers" data-testid="delivery-headers">
      <tbody>
        {rows.map(([name, value]) => (
          <tr key={name}>
            <th scope="row">
              <code>{name}</code>
            </th>
            <td>
              <code>{value}</code>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
