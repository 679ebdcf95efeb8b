-- Console sign-in sessions (reference Aug tree, model user_sessions): one row
-- per refresh-token family; only HMACs of refresh tokens are stored.
CREATE TABLE IF NOT EXISTS `user_sessions` (
  `sid` VARCHAR(64) NOT NULL PRIMARY KEY,
  `user_id` INTEGER NOT NULL,
  `version` INTEGER NOT NULL DEFAULT 1,
  `user_auth_version` INTEGER NOT NULL DEFAULT 1,
  `status` INTEGER NOT NULL DEFAULT 1,
  `refresh_hash` VARCHAR(128) NOT NULL,
  `previous_refresh_hash` VARCHAR(128) DEFAULT NULL,
  `login_method` VARCHAR(32) DEFAULT NULL,
  `ip` VARCHAR(64) DEFAULT NULL,
  `user_agent` VARCHAR(512) DEFAULT NULL,
  `created_at` INTEGER NOT NULL,
  `last_active_at` INTEGER NOT NULL,
  `expires_at` INTEGER NOT NULL,
  `revoked_at` INTEGER DEFAULT NULL,
  `revoked_reason` VARCHAR(64) DEFAULT NULL
);
CREATE INDEX IF NOT EXISTS `idx_user_sessions_user_id` ON `user_sessions` (`user_id`);
CREATE INDEX IF NOT EXISTS `idx_user_sessions_expires_at` ON `user_sessions` (`expires_at`);
