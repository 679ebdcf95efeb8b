-- Console sign-in sessions, exactly as new-api's GORM creates user_sessions (reference
-- model/user_session.go, commit 4eec0ce): one row per refresh-token family; only HMACs
-- of refresh tokens are stored; status is 'active' or 'revoked' (new-api also writes
-- 'revoking' while a revocation is under way; such a row is not active). A database
-- made by our 003 before 004 had an integer status; 004 converts it.
CREATE TABLE IF NOT EXISTS `user_sessions` (
  `sid` varchar(64),
  `user_id` bigint NOT NULL,
  `version` bigint NOT NULL DEFAULT 1,
  `user_auth_version` bigint NOT NULL,
  `status` varchar(16) NOT NULL,
  `refresh_hash` char(64) NOT NULL,
  `previous_refresh_hash` varchar(64),
  `previous_valid_until` bigint NOT NULL DEFAULT 0,
  `login_method` varchar(32) NOT NULL,
  `ip` varchar(64),
  `user_agent` text,
  `created_at` bigint,
  `last_active_at` bigint NOT NULL,
  `expires_at` bigint NOT NULL,
  `revoked_at` bigint NOT NULL DEFAULT 0,
  `revoked_reason` varchar(64),
  PRIMARY KEY (`sid`),
  INDEX `idx_user_sessions_user_status_expiry` (`user_id`,`status`,`expires_at`),
  INDEX `idx_user_sessions_user_created` (`user_id`,`created_at`),
  INDEX `idx_user_sessions_status_revoked` (`status`,`revoked_at`),
  INDEX `idx_user_sessions_expires_at` (`expires_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
