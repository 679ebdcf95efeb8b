// Placeholder until this page is built (issue 12): says so plainly.
import { NotBuilt } from '../../components/NotBuilt';

export default function Profile() {
  return <NotBuilt page="Profile" />;
}
