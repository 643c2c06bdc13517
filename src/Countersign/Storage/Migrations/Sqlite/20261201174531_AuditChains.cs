using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Countersign.Storage.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class AuditChains : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<int>(
                name: "Chain",
                table: "audit_events",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<long>(
                name: "Seq",
                table: "audit_events",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0L);

            // The rows so far were one chain ordered by id: number them 1, 2, 3 … in chain 0 (their hashes stay valid).
            migrationBuilder.Sql("""
                UPDATE audit_events SET "Seq" = r.n
                FROM (SELECT "Id", row_number() OVER (ORDER BY "Id") AS n FROM audit_events) AS r
                WHERE audit_events."Id" = r."Id";
                """);

            migrationBuilder.CreateTable(
                name: "audit_checkpoints",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    At = table.Column<long>(type: "INTEGER", nullable: false),
                    Heads = table.Column<string>(type: "TEXT", nullable: false),
                    Hash = table.Column<byte[]>(type: "BLOB", nullable: false),
                    Mac = table.Column<byte[]>(type: "BLOB", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_audit_checkpoints", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_audit_events_Chain_Seq",
                table: "audit_events",
                columns: new[] { "Chain", "Seq" },
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "audit_checkpoints");

            migrationBuilder.DropIndex(
                name: "IX_audit_events_Chain_Seq",
                table: "audit_events");

            migrationBuilder.DropColumn(
                name: "Chain",
                table: "audit_events");

            migrationBuilder.DropColumn(
                name: "Seq",
                table: "audit_events");
        }
    }
}
