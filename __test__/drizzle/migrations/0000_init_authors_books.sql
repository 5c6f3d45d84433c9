CREATE TABLE `dz_mig_authors` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`name` varchar(50) NOT NULL,
	CONSTRAINT `dz_mig_authors_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE TABLE `dz_mig_books` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`author_id` bigint unsigned NOT NULL,
	`title` varchar(100) NOT NULL,
	`published` date,
	CONSTRAINT `dz_mig_books_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
ALTER TABLE `dz_mig_books` ADD CONSTRAINT `dz_mig_books_author_id_dz_mig_authors_id_fk` FOREIGN KEY (`author_id`) REFERENCES `dz_mig_authors`(`id`) ON DELETE cascade ON UPDATE no action;
