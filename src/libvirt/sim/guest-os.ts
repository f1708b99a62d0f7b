/** The guest operating systems a simulated VM may run (console banner, guest data). A leaf: nothing here imports the simulator. */
export interface GuestOs {
  id: string;
  name: string;
  prettyName: string;
  version: string;
  versionId: string;
  kernel: string;
  family: 'debian' | 'rhel' | 'alpine';
}

export const GUEST_OSES: readonly GuestOs[] = [
  { id: 'debian', name: 'Debian GNU/Linux', prettyName: 'Debian GNU/Linux 12 (bookworm)', version: '12 (bookworm)', versionId: '12', kernel: '6.1.0-18-amd64', family: 'debian' },
  { id: 'ubuntu', name: 'Ubuntu', prettyName: 'Ubuntu 24.04.1 LTS', version: '24.04.1 LTS (Noble Numbat)', versionId: '24.04', kernel: '6.8.0-45-generic', family: 'debian' },
  { id: 'ubuntu', name: 'Ubuntu', prettyName: 'Ubuntu 22.04.4 LTS', version: '22.04.4 LTS (Jammy Jellyfish)', versionId: '22.04', kernel: '5.15.0-105-generic', family: 'debian' },
  { id: 'rocky', name: 'Rocky Linux', prettyName: 'Rocky Linux 9.4 (Blue Onyx)', version: '9.4 (Blue Onyx)', versionId: '9.4', kernel: '5.14.0-427.13.1.el9_4.x86_64', family: 'rhel' },
  { id: 'alpine', name: 'Alpine Linux', prettyName: 'Alpine Linux v3.20', version: '3.20.3', versionId: '3.20.3', kernel: '6.6.49-0-virt', family: 'alpine' },
];
