import type { AuthenticatedUser } from '../auth.js';
import { Layout } from './layout.js';

export function ErrorPage(props: { user: AuthenticatedUser | null; status: number; message: string }) {
  return (
    <Layout title={`Error ${props.status}`} user={props.user}>
      <div class="notice error">
        <strong>{props.status}</strong> {props.message}
      </div>
      <p>
        <a href="/">Back to the events</a>
      </p>
    </Layout>
  );
}
