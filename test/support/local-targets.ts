import { PUBLIC_TARGETS_ONLY, type TargetPolicy } from '../../lambdas/shared/domain/target';

/** The target policy of local mode: the stack's default plus loopback, for targets on 127.0.0.1. */
export const LOCAL_TARGETS: TargetPolicy = { ...PUBLIC_TARGETS_ONLY, TARGET_ALLOW_LOOPBACK: true };
