-- Core tables, column for column as the reference (new-api, GORM AutoMigrate), so a
-- reference database opens as is. MySQL commits DDL implicitly, so every statement is
-- idempotent: CREATE TABLE IF NOT EXISTS with its indexes inline. Index names follow
-- GORM's idx_<table>_<column>. Quota and money columns are BIGINT.

CREATE TABLE IF NOT EXISTS `users` (
  `id` BIGINT NOT NULL AUTO_INCREMENT,
  `username` VARCHAR(191) DEFAULT NULL,
  `password` LONGTEXT NOT NULL,
  `display_name` VARCHAR(191) DEFAULT NULL,
  `role` BIGINT DEFAULT 1,
  `status` BIGINT DEFAULT 1,
  `email` VARCHAR(191) DEFAULT NULL,
  `github_id` VARCHAR(191) DEFAULT NULL,
  `discord_id` VARCHAR(191) DEFAULT NULL,
  `oidc_id` VARCHAR(191) DEFAULT NULL,
  `wechat_id` VARCHAR(191) DEFAULT NULL,
  `telegram_id` VARCHAR(191) DEFAULT NULL,
  `linux_do_id` VARCHAR(191) DEFAULT NULL,
  `access_token` CHAR(32) DEFAULT NULL,
  `quota` BIGINT DEFAULT 0,
  `used_quota` BIGINT DEFAULT 0,
  `request_count` BIGINT DEFAULT 0,
  `group` VARCHAR(64) DEFAULT 'default',
  `aff_code` VARCHAR(32) DEFAULT NULL,
  `aff_count` BIGINT DEFAULT 0,
  `aff_quota` BIGINT DEFAULT 0,
  `aff_history` BIGINT DEFAULT 0,
  `inviter_id` BIGINT DEFAULT NULL,
  `deleted_at` DATETIME(3) DEFAULT NULL,
  `setting` TEXT,
  `remark` VARCHAR(255) DEFAULT NULL,
  `stripe_customer` VARCHAR(64) DEFAULT NULL,
  `created_at` BIGINT DEFAULT NULL,
  `last_login_at` BIGINT DEFAULT NULL,
  `auth_version` BIGINT DEFAULT 1,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uni_users_username` (`username`),
  UNIQUE KEY `uni_users_access_token` (`access_token`),
  UNIQUE KEY `uni_users_aff_code` (`aff_code`),
  KEY `idx_users_display_name` (`display_name`),
  KEY `idx_users_email` (`email`),
  KEY `idx_users_github_id` (`github_id`),
  KEY `idx_users_discord_id` (`discord_id`),
  KEY `idx_users_oidc_id` (`oidc_id`),
  KEY `idx_users_wechat_id` (`wechat_id`),
  KEY `idx_users_telegram_id` (`telegram_id`),
  KEY `idx_users_linux_do_id` (`linux_do_id`),
  KEY `idx_users_inviter_id` (`inviter_id`),
  KEY `idx_users_deleted_at` (`deleted_at`),
  KEY `idx_users_stripe_customer` (`stripe_customer`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Token keys are compared case-sensitively (utf8mb4_bin): they are [0-9a-zA-Z] secrets.
CREATE TABLE IF NOT EXISTS `tokens` (
  `id` BIGINT NOT NULL AUTO_INCREMENT,
  `user_id` BIGINT DEFAULT NULL,
  `key` VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL,
  `status` BIGINT DEFAULT 1,
  `name` VARCHAR(191) DEFAULT NULL,
  `created_time` BIGINT DEFAULT NULL,
  `accessed_time` BIGINT DEFAULT NULL,
  `expired_time` BIGINT DEFAULT -1,
  `remain_quota` BIGINT DEFAULT 0,
  `unlimited_quota` BOOLEAN DEFAULT FALSE,
  `used_quota` BIGINT DEFAULT 0,
  `model_limits_enabled` BOOLEAN DEFAULT FALSE,
  `model_limits` TEXT,
  `allow_ips` TEXT,
  `group` VARCHAR(191) DEFAULT '',
  `cross_group_retry` BOOLEAN DEFAULT FALSE,
  `auto_groups` TEXT,
  `deleted_at` DATETIME(3) DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uni_tokens_key` (`key`),
  KEY `idx_tokens_user_id` (`user_id`),
  KEY `idx_tokens_name` (`name`),
  KEY `idx_tokens_deleted_at` (`deleted_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `channels` (
  `id` BIGINT NOT NULL AUTO_INCREMENT,
  `type` BIGINT DEFAULT 0,
  `key` LONGTEXT NOT NULL,
  `openai_organization` LONGTEXT,
  `test_model` LONGTEXT,
  `status` BIGINT DEFAULT 1,
  `name` VARCHAR(191) DEFAULT NULL,
  `weight` BIGINT UNSIGNED DEFAULT 0,
  `created_time` BIGINT DEFAULT NULL,
  `test_time` BIGINT DEFAULT NULL,
  `response_time` BIGINT DEFAULT NULL,
  `base_url` VARCHAR(191) DEFAULT '',
  `other` LONGTEXT,
  `balance` DOUBLE DEFAULT NULL,
  `balance_updated_time` BIGINT DEFAULT NULL,
  `models` LONGTEXT,
  `group` VARCHAR(64) DEFAULT 'default',
  `used_quota` BIGINT DEFAULT 0,
  `model_mapping` TEXT,
  `status_code_mapping` VARCHAR(1024) DEFAULT '',
  `priority` BIGINT DEFAULT 0,
  `auto_ban` BIGINT DEFAULT 1,
  `other_info` LONGTEXT,
  `tag` VARCHAR(191) DEFAULT NULL,
  `setting` TEXT,
  `param_override` TEXT,
  `header_override` TEXT,
  `remark` VARCHAR(255) DEFAULT NULL,
  `channel_info` JSON DEFAULT NULL,
  `settings` LONGTEXT,
  PRIMARY KEY (`id`),
  KEY `idx_channels_name` (`name`),
  KEY `idx_channels_tag` (`tag`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `abilities` (
  `group` VARCHAR(64) NOT NULL,
  `model` VARCHAR(255) NOT NULL,
  `channel_id` BIGINT NOT NULL,
  `enabled` BOOLEAN DEFAULT NULL,
  `priority` BIGINT DEFAULT 0,
  `weight` BIGINT UNSIGNED DEFAULT 0,
  `tag` VARCHAR(191) DEFAULT NULL,
  PRIMARY KEY (`group`, `model`, `channel_id`),
  KEY `idx_abilities_channel_id` (`channel_id`),
  KEY `idx_abilities_priority` (`priority`),
  KEY `idx_abilities_weight` (`weight`),
  KEY `idx_abilities_tag` (`tag`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `logs` (
  `id` BIGINT NOT NULL AUTO_INCREMENT,
  `user_id` BIGINT DEFAULT NULL,
  `created_at` BIGINT DEFAULT NULL,
  `type` BIGINT DEFAULT NULL,
  `content` LONGTEXT,
  `username` VARCHAR(191) DEFAULT '',
  `token_name` VARCHAR(191) DEFAULT '',
  `model_name` VARCHAR(191) DEFAULT '',
  `quota` BIGINT DEFAULT 0,
  `prompt_tokens` BIGINT DEFAULT 0,
  `completion_tokens` BIGINT DEFAULT 0,
  `use_time` BIGINT DEFAULT 0,
  `is_stream` BOOLEAN DEFAULT NULL,
  `channel_id` BIGINT DEFAULT NULL,
  `token_id` BIGINT DEFAULT 0,
  `group` VARCHAR(191) DEFAULT NULL,
  `ip` VARCHAR(191) DEFAULT '',
  `request_id` VARCHAR(64) DEFAULT NULL,
  `upstream_request_id` VARCHAR(128) DEFAULT NULL,
  `other` LONGTEXT,
  PRIMARY KEY (`id`),
  KEY `idx_created_at_id` (`created_at`, `id`),
  KEY `idx_user_id_id` (`user_id`, `id`),
  KEY `idx_created_at_type` (`created_at`, `type`),
  KEY `index_username_model_name` (`model_name`, `username`),
  KEY `idx_logs_user_id` (`user_id`),
  KEY `idx_logs_token_name` (`token_name`),
  KEY `idx_logs_model_name` (`model_name`),
  KEY `idx_logs_channel_id` (`channel_id`),
  KEY `idx_logs_token_id` (`token_id`),
  KEY `idx_logs_group` (`group`),
  KEY `idx_logs_ip` (`ip`),
  KEY `idx_logs_request_id` (`request_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `options` (
  `key` VARCHAR(191) NOT NULL,
  `value` LONGTEXT,
  PRIMARY KEY (`key`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `redemptions` (
  `id` BIGINT NOT NULL AUTO_INCREMENT,
  `user_id` BIGINT DEFAULT NULL,
  `key` CHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL,
  `status` BIGINT DEFAULT 1,
  `name` VARCHAR(191) DEFAULT NULL,
  `quota` BIGINT DEFAULT 100,
  `created_time` BIGINT DEFAULT NULL,
  `redeemed_time` BIGINT DEFAULT NULL,
  `used_user_id` BIGINT DEFAULT NULL,
  `deleted_at` DATETIME(3) DEFAULT NULL,
  `expired_time` BIGINT DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uni_redemptions_key` (`key`),
  KEY `idx_redemptions_name` (`name`),
  KEY `idx_redemptions_deleted_at` (`deleted_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `setups` (
  `id` BIGINT NOT NULL AUTO_INCREMENT,
  `version` VARCHAR(50) NOT NULL,
  `initialized_at` BIGINT NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `top_ups` (
  `id` BIGINT NOT NULL AUTO_INCREMENT,
  `user_id` BIGINT DEFAULT NULL,
  `amount` BIGINT DEFAULT NULL,
  `money` DOUBLE DEFAULT NULL,
  `trade_no` VARCHAR(255) DEFAULT NULL,
  `payment_method` VARCHAR(50) DEFAULT NULL,
  `create_time` BIGINT DEFAULT NULL,
  `complete_time` BIGINT DEFAULT NULL,
  `status` VARCHAR(191) DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uni_top_ups_trade_no` (`trade_no`),
  KEY `idx_top_ups_user_id` (`user_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `quota_data` (
  `id` BIGINT NOT NULL AUTO_INCREMENT,
  `user_id` BIGINT DEFAULT NULL,
  `username` VARCHAR(64) DEFAULT '',
  `model_name` VARCHAR(64) DEFAULT '',
  `created_at` BIGINT DEFAULT NULL,
  `token_used` BIGINT DEFAULT 0,
  `count` BIGINT DEFAULT 0,
  `quota` BIGINT DEFAULT 0,
  PRIMARY KEY (`id`),
  KEY `idx_quota_data_user_id` (`user_id`),
  KEY `idx_qdt_model_user_name` (`model_name`, `username`),
  KEY `idx_qdt_created_at` (`created_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `models` (
  `id` BIGINT NOT NULL AUTO_INCREMENT,
  `model_name` VARCHAR(128) NOT NULL,
  `description` TEXT,
  `icon` VARCHAR(128) DEFAULT NULL,
  `tags` VARCHAR(255) DEFAULT NULL,
  `vendor_id` BIGINT DEFAULT NULL,
  `endpoints` TEXT,
  `status` BIGINT DEFAULT 1,
  `sync_official` BIGINT DEFAULT 1,
  `created_time` BIGINT DEFAULT NULL,
  `updated_time` BIGINT DEFAULT NULL,
  `deleted_at` DATETIME(3) DEFAULT NULL,
  `name_rule` BIGINT DEFAULT 0,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uk_model_name_delete_at` (`model_name`, `deleted_at`),
  KEY `idx_models_vendor_id` (`vendor_id`),
  KEY `idx_models_deleted_at` (`deleted_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `vendors` (
  `id` BIGINT NOT NULL AUTO_INCREMENT,
  `name` VARCHAR(128) NOT NULL,
  `description` TEXT,
  `icon` VARCHAR(128) DEFAULT NULL,
  `status` BIGINT DEFAULT 1,
  `created_time` BIGINT DEFAULT NULL,
  `updated_time` BIGINT DEFAULT NULL,
  `deleted_at` DATETIME(3) DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uk_vendor_name_delete_at` (`name`, `deleted_at`),
  KEY `idx_vendors_deleted_at` (`deleted_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `checkins` (
  `id` BIGINT NOT NULL AUTO_INCREMENT,
  `user_id` BIGINT NOT NULL,
  `checkin_date` VARCHAR(10) NOT NULL,
  `quota_awarded` BIGINT NOT NULL,
  `created_at` BIGINT DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `idx_user_checkin_date` (`user_id`, `checkin_date`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Token Factory's own: the last Redis stream entry the ledger persister applied per
-- stream, advanced in the same transaction as the entries it applies.
CREATE TABLE IF NOT EXISTS `ledger_cursors` (
  `stream` VARCHAR(191) NOT NULL,
  `last_id` VARCHAR(64) NOT NULL,
  `updated_at` BIGINT DEFAULT NULL,
  PRIMARY KEY (`stream`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
