using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Countersign.Storage.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class PasswordChangeRequired : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<bool>(
                name: "PasswordChangeRequired",
                table: "AspNetUsers",
                type: "INTEGER",
                nullable: false,
                defaultValue: false);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "PasswordChangeRequired",
                table: "AspNetUsers");
        }
    }
}
