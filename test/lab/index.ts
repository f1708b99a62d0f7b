// The test lab: private libvirt nodes, sshd per node, a bootable test guest,
// test-driver node files and the prerequisite check. See README "Test lab".
export { startLab, stopLabDir, readLabDir, type Lab, type LabNode, type LabOptions } from './lab.js';
export { requireLab, missingPrerequisites } from './prereq.js';
export { writeTestNodeXml, testNodeXml, testDomainName, type TestNodeOptions } from './testnode-xml.js';
export { buildGuestImage, type GuestImageOptions, type GuestImage } from './guest-image.js';
export { guestDomainXml, type GuestDomainOptions } from './guest-xml.js';
export type { LabSshd } from './sshd.js';
export { openGuestConsole, waitForPrompt, type GuestConsole } from './console.js';
export { GUEST_PROMPT, GUEST_READY_LINE } from './guest-image.js';
export { GUEST_CHANNEL } from './guest-xml.js';
export { isAlive } from './procs.js';
export { containerDomainXml, BURN_SCRIPT, type ContainerOptions } from './container-xml.js';
