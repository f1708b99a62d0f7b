/** libvirt's numbering that the simulator's parts share: state reasons and lifecycle event details. A leaf module, so the parts that emit them need not import the engine. */

/** libvirt state reasons (virDomainRunningReason, virDomainPausedReason, virDomainShutoffReason). */
export const Reason = {
  runningBooted: 1,
  runningMigrated: 2,
  runningFromSnapshot: 4,
  runningUnpaused: 5,
  runningMigrationCanceled: 6,
  pausedUser: 1,
  pausedMigration: 2,
  pausedFromSnapshot: 8,
  shutoffShutdown: 1,
  shutoffDestroyed: 2,
  shutoffMigrated: 5,
  shutoffFromSnapshot: 7,
} as const;

/** Lifecycle event numbering (virDomainEventType) and details, as libvirt sends them. */
export const LifecycleDetail = {
  defined: { added: 0, updated: 1, fromSnapshot: 3 },
  undefined: { removed: 0 },
  started: { booted: 0, migrated: 1, fromSnapshot: 3 },
  suspended: { paused: 0, migrated: 1 },
  resumed: { unpaused: 0, migrated: 1, fromSnapshot: 2 },
  stopped: { shutdown: 0, destroyed: 1, migrated: 3, fromSnapshot: 6 },
  shutdown: { finished: 0 },
} as const;
